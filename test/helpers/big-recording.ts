/**
 * A recording of more than 200 MB without pushing for minutes: a crashed
 * recording's work dir (manifest + fragmented MP4 of noisy lossless video)
 * planted in a data dir, which start-up recovery finalizes and announces like
 * any recording a killed server left behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, linkSync, renameSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CACHE_DIR } from './fixtures.js';
import { DataLayout } from '../../src/recording/layout.js';
import { writeManifest, type RecordingManifest } from '../../src/recording/manifest.js';
import { recordingPaths, type RecordingPaths } from '../../src/recording/paths.js';

const run = promisify(execFile);

/** A fragmented MP4 of `seconds` of noisy lossless 720p video (about 33 MB a second), cached. */
export async function bigLiveFile(seconds = 7): Promise<string> {
  const file = path.join(CACHE_DIR, `big_noise_720p_${seconds}s.fmp4`);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30,noise=alls=30:allf=t+u', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '30', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', tmp],
    { timeout: 240_000 },
  );
  renameSync(tmp, file); // atomic: parallel test files may make it at once
  return file;
}

/** Plants the big file as an unfinished MP4-only recording of app `live`; returns its manifest and paths. */
export async function plantBigRecording(dataDir: string, name: string, opts: { seconds?: number } = {}): Promise<{ manifest: RecordingManifest; paths: RecordingPaths }> {
  const big = await bigLiveFile(opts.seconds);
  const manifest: RecordingManifest = {
    version: 1,
    recordingId: randomUUID(),
    app: 'live',
    streamId: name.split('_')[0],
    protocol: 'rtmp',
    name,
    startedAt: '2026-11-22T12:00:00.000Z',
    liveContainer: 'fmp4',
    mp4: true,
    hls: false,
    previews: false,
    previewFormat: 'jpg',
    previewHeight: 480,
  };
  const layout = new DataLayout(dataDir);
  layout.ensureApp('live');
  const paths = recordingPaths(layout, manifest);
  writeManifest(paths.workDir, manifest);
  try {
    linkSync(big, paths.live); // the finalizer removes the live file: a link keeps the cached one
  } catch {
    copyFileSync(big, paths.live);
  }
  return { manifest, paths };
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
