/**
 * The server's HTTP side in-process, wired as `main.ts` wires it (policy
 * router, player assets, media routes with the forwarding hook, static pages),
 * with a catalog and a signer handed in, plus recordings made with ffmpeg.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { appSettings } from '../../src/config/schema.js';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { DataLayout } from '../../src/recording/layout.js';
import { HttpServer } from '../../src/http/http-server.js';
import { mediaRoutes } from '../../src/http/media-routes.js';
import { LocalFileIndex } from '../../src/http/local-file-index.js';
import { Forwarding, type UploadEvents } from '../../src/forwarding/forwarding.js';
import { playerAssets } from '../../src/player/player-assets.js';
import { createLogger } from '../../src/log/logger.js';
import type { LocalObjectResolver, ObjectLocator, ObjectSigner } from '../../src/forwarding/types.js';
import { fixture } from './fixtures.js';

const run = promisify(execFile);

export interface FwdServer {
  url: string;
  /** Mints and checks viewing tokens of private apps. */
  guard: Forwarding['guard'];
  port: number;
  layout: DataLayout;
  apps: AppRegistry;
  /** Every log line the server wrote. */
  logs: string[];
  stop(): Promise<void>;
}

export async function startForwardingServer(opts: { apps: Record<string, unknown>[]; locator?: ObjectLocator; signer?: ObjectSigner; events?: UploadEvents; localObjects?: LocalObjectResolver }): Promise<FwdServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bc-fwd-'));
  const layout = new DataLayout(dataDir);
  const apps = new AppRegistry(opts.apps.map((a) => appSettings.parse(a)));
  for (const a of apps.list()) layout.ensureApp(a.name);
  const logs: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void logs.push(line) });
  const forwarding = new Forwarding({ apps, log, locator: opts.locator, signer: opts.signer, events: opts.events, localObjects: opts.localObjects });
  const index = new LocalFileIndex({ log });
  const http = new HttpServer({
    host: '127.0.0.1',
    port: 0,
    log,
    routers: [playerAssets()],
    fastRoutes: [mediaRoutes({ apps, layout, index, livePlaylist: () => undefined, policy: forwarding.policy, access: forwarding.access, missing: forwarding.missing })],
    health: () => ({}),
  });
  await forwarding.start();
  await http.start();
  return {
    url: `http://127.0.0.1:${http.port}`,
    guard: forwarding.guard,
    port: http.port,
    layout,
    apps,
    logs,
    async stop() {
      await http.stop();
      await index.stop();
      await forwarding.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestRecording {
  name: string;
  dir: string;
  mp4: string;
  playlist: string;
  segments: string[];
  /** Poster image (webp: the player must find formats other than jpg). */
  poster: string;
}

/** A recording as the recorder leaves it (faststart MP4, VOD HLS with relative segment URIs, a poster), small and short. */
export async function makeRecording(name: string, seconds = 8): Promise<TestRecording> {
  const src = await fixture({ seconds, width: 426, height: 240, fps: 25, gop: 25, videoKbps: 300 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-rec-'));
  const mp4 = path.join(dir, `${name}.mp4`);
  const playlist = path.join(dir, `${name}.m3u8`);
  const poster = path.join(dir, `${name}.webp`);
  const q = ['-hide_banner', '-loglevel', 'error', '-y', '-i', src];
  await run('ffmpeg', [...q, '-c', 'copy', '-movflags', '+faststart', mp4]);
  await run('ffmpeg', [...q, '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', path.join(dir, `${name}_%05d.ts`), playlist]);
  await run('ffmpeg', [...q, '-frames:v', '1', poster]);
  const segments = readdirSync(dir).filter((n) => n.endsWith('.ts')).sort().map((n) => path.join(dir, n));
  return { name, dir, mp4, playlist, segments, poster };
}
