/**
 * Start-up recovery: recordings a killed process left in progress (their
 * manifests in the work root) are finalized and announced like any other,
 * marked `recovered`. A recording in parts keeps the parts finalized before
 * the kill (never finalized or uploaded twice) and finalizes the one being
 * written. The stream's latest preview, left behind by the kill, is removed.
 */
import { rmSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import type { DataLayout } from './layout.js';
import { neverStarted, readManifests } from './manifest.js';
import { recordingPaths } from './paths.js';
import type { FinalizeQueue } from './finalize-queue.js';

export interface RecoveryOptions {
  layout: DataLayout;
  queue: FinalizeQueue;
  /** Whether a stream is being recorded again already (its latest preview is its own then). */
  isRecorded: (app: string, streamId: string) => boolean;
  log: Logger;
}

export async function recoverRecordings(o: RecoveryOptions): Promise<void> {
  for (const found of readManifests(o.layout.workRoot)) {
    if (!found.manifest && neverStarted(found.dir)) {
      // Killed between the work dir's creation and its first manifest: no recorder ever ran, no media to keep.
      o.log.warn({ dir: found.dir }, 'removed the work dir of a recording killed before it started');
      rmSync(found.dir, { recursive: true, force: true });
      continue;
    }
    if (!found.manifest) {
      o.log.error({ dir: found.dir, err: found.error }, 'unreadable recording manifest, left in place');
      continue;
    }
    const m = found.manifest;
    const log = o.log.child({ app: m.app, streamId: m.streamId, recordingId: m.recordingId, name: m.name });
    log.warn('finalizing a recording left by a previous run');
    await o.queue.complete(m, log, undefined, true);
    if (m.previews && !o.isRecorded(m.app, m.streamId)) removeLatestPreview(recordingPaths(o.layout, m).latestPreview);
  }
}

/** Removes a stream's latest preview (and the temp file ffmpeg may have left). */
export function removeLatestPreview(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.tmp`, { force: true });
}
