/**
 * The manifest of a recording in progress, written atomically into its work
 * dir when it starts. After a crash, start-up finds it and finalizes the
 * recording from it; it is deleted only once `recording.completed` was handled.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import path from 'node:path';
import type { Protocol } from '../events/types.js';

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
}

const FILE = 'manifest.json';

/** Creates the work dir and writes the manifest durably. */
export function writeManifest(workDir: string, m: RecordingManifest): void {
  mkdirSync(workDir, { recursive: true });
  const tmp = path.join(workDir, `${FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(m, null, 2));
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path.join(workDir, FILE));
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

/** Removes a finished recording's work dir. */
export function removeWorkDir(workDir: string): void {
  rmSync(workDir, { recursive: true, force: true });
}
