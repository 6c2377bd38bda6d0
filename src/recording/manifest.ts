/**
 * The manifest of a recording in progress, written atomically into its work
 * dir when it starts. After a crash, start-up finds it and finalizes the
 * recording from it; it is deleted only once `recording.completed` was handled.
 * Beside it, once finalization succeeded, the record of what it produced.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Protocol, RecordingCompleted } from '../events/types.js';

export interface RecordingManifest {
  version: 1;
  recordingId: string;
  app: string;
  streamId: string;
  protocol: Protocol;
  /** Base name of every file of the recording. */
  name: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  /** Container written while live: fragmented MP4, or Matroska/WebM. */
  liveContainer: 'fmp4' | 'webm';
  mp4: boolean;
  hls: boolean;
  previews: boolean;
  previewFormat: 'png' | 'jpg' | 'webp';
  /** Preview height in pixels (never upscaled). */
  previewHeight: number;
  /** Seconds of one MP4 part; absent or 0: one live file for the whole recording. */
  segmentSeconds?: number;
  /**
   * Segments the local HLS playlist keeps while live (`hlsWindowSeconds` / `hlsTime`, parts on): ffmpeg
   * deletes older ones. Absent: the playlist lists every segment (an EVENT playlist).
   */
  hlsWindowSegments?: number;
  /**
   * ISO 8601 UTC arrival time of the first packet the recorder got (the media's time 0): the wall-clock
   * anchor of the recording and its parts. Absent (older manifests, not known yet): `startedAt`.
   */
  mediaStartedAt?: string;
}

/** The wall-clock time of the recording's media time 0. */
export function mediaStart(m: RecordingManifest): string {
  return m.mediaStartedAt ?? m.startedAt;
}

const FILE = 'manifest.json';
const COMPLETED = 'completed.json';

/** Writes `name` in `dir` durably: a temp file, fsynced, renamed into place. */
export function writeDurably(dir: string, name: string, data: unknown): void {
  const tmp = path.join(dir, `${name}.tmp`);
  writeFileSync(tmp, JSON.stringify(data, null, 2));
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path.join(dir, name));
}

/**
 * `writeDurably` with the write and fsync in the thread pool: for records
 * written while streams run (a part's record, a recording's completion), where
 * a synchronous fsync behind other streams' writes holds the event loop.
 */
export async function writeDurablyAsync(dir: string, name: string, data: unknown): Promise<void> {
  // Its own temp name: two writes of one record in flight never rename each other's file.
  const tmp = path.join(dir, `${name}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(data, null, 2));
  const handle = await open(tmp, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path.join(dir, name));
}

/**
 * `writeManifest` with the write and the fsync in the thread pool: a recording starting while others write. A
 * synchronous fsync waits for the filesystem's journal, which carries every other recording's writes: at 64 streams
 * each start held the event loop long enough that the starts queued behind one another (83 s from first to last).
 */
export async function writeManifestAsync(workDir: string, m: RecordingManifest): Promise<void> {
  await mkdir(workDir, { recursive: true });
  await writeDurablyAsync(workDir, FILE, m);
}

/** Creates the work dir and writes the manifest durably. */
export function writeManifest(workDir: string, m: RecordingManifest): void {
  mkdirSync(workDir, { recursive: true });
  writeDurably(workDir, FILE, m);
}

/**
 * Records that a recording was finalized, with what finalization found,
 * before it is announced. From then on its files belong to the listeners
 * (uploaded, and deleted locally, possibly before the work dir is removed):
 * a retry or a recovery after a crash announces this record again instead of
 * finalizing a second time over files that may be gone.
 */
export function writeCompleted(workDir: string, done: RecordingCompleted): Promise<void> {
  return writeDurablyAsync(workDir, COMPLETED, done);
}

/** The finalization record of a recording, if it was finalized before. */
export function readCompleted(workDir: string): RecordingCompleted | undefined {
  try {
    const done = JSON.parse(readFileSync(path.join(workDir, COMPLETED), 'utf8')) as RecordingCompleted;
    return done.recordingId && Array.isArray(done.files) ? done : undefined;
  } catch {
    return undefined;
  }
}

/** Reads every manifest under the work root; unreadable ones are returned as errors. */
export function readManifests(workRoot: string): Array<{ dir: string; manifest?: RecordingManifest; error?: string }> {
  let entries: string[];
  try {
    entries = readdirSync(workRoot);
  } catch {
    return [];
  }
  return entries.map((e) => {
    const dir = path.join(workRoot, e);
    try {
      const m = JSON.parse(readFileSync(path.join(dir, FILE), 'utf8')) as RecordingManifest;
      if (m.version !== 1 || !m.recordingId || !m.name) throw new Error('not a bucketcast manifest');
      return { dir, manifest: m };
    } catch (err) {
      return { dir, error: (err as Error).message };
    }
  });
}

/**
 * True when a work dir without a manifest holds nothing but unfinished manifest writes (or nothing): the process
 * was killed between creating the dir and renaming its first manifest into place, before any recorder started.
 */
export function neverStarted(dir: string): boolean {
  try {
    return readdirSync(dir).every((f) => f.startsWith(`${FILE}.`) && f.endsWith('.tmp'));
  } catch {
    return false;
  }
}

/** Removes a finished recording's work dir. */
export function removeWorkDir(workDir: string): void {
  rmSync(workDir, { recursive: true, force: true });
}
