/** `GET /api/v1/server`: what a panel needs to show publish settings (the RTMP port, the public URL) and the version. */
import { createRequire } from 'node:module';
import { route, type Route } from './http.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export function serverRoutes(o: { rtmpPort: () => number; publicUrl?: string; warnings?: () => unknown[] }): Route[] {
  return [
    route('get', '/server', () => ({
      name: 'bucketcast',
      version: pkg.version,
      rtmpPort: o.rtmpPort(),
      publicUrl: o.publicUrl ?? null,
      uptimeSeconds: Math.round(process.uptime()),
      time: new Date().toISOString(),
      warnings: o.warnings?.() ?? [],
    })),
  ];
}
