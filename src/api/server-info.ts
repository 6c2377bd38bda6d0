/** `GET /api/v1/server`: what a panel needs to show publish settings (the RTMP port, the public URL) and the version. */
import { route, type Route } from './http.js';
import { isoDateTime, z } from './schema.js';
import { PACKAGE_VERSION } from '../package-root.js';

export const ServerFacts = z.object({
  name: z.literal('bucketcast'),
  version: z.string(),
  rtmpPort: z.int(),
  publicUrl: z.string().nullable(),
  uptimeSeconds: z.int(),
  time: isoDateTime(),
  warnings: z.array(z.unknown()).describe('conditions the panel shows as a banner'),
});

export function serverRoutes(o: { rtmpPort: () => number; publicUrl?: string; warnings?: () => unknown[] }): Route[] {
  return [
    route({ method: 'get', path: '/server', responses: { 200: ServerFacts }, handler: () => ({
      name: 'bucketcast',
      version: PACKAGE_VERSION,
      rtmpPort: o.rtmpPort(),
      publicUrl: o.publicUrl ?? null,
      uptimeSeconds: Math.round(process.uptime()),
      time: new Date().toISOString(),
      warnings: o.warnings?.() ?? [],
    }) }),
  ];
}
