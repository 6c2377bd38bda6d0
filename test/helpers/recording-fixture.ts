/** A recording's manifest and paths in a data dir, as the recorder leaves them at start, for finalizer tests. */
import { randomUUID } from 'node:crypto';
import { DataLayout } from '../../src/recording/layout.js';
import { recordingPaths, type RecordingPaths } from '../../src/recording/paths.js';
import { writeManifest, type RecordingManifest } from '../../src/recording/manifest.js';

/** Stream `cam` of app `live`, named after `startedAt`; what the case needs is set in `over`. */
export function recordingFixture(dataDir: string, over: Partial<RecordingManifest> & { startedAt: string }): { layout: DataLayout; m: RecordingManifest; p: RecordingPaths } {
  const layout = new DataLayout(dataDir);
  layout.ensureApp('live');
  const stamp = over.startedAt.replace(/[-:]|\.\d+/g, '');
  const m: RecordingManifest = { version: 1, recordingId: randomUUID(), app: 'live', streamId: 'cam', protocol: 'rtmp', name: `cam_${stamp}`, liveContainer: 'fmp4', mp4: true, hls: false, previews: false, previewFormat: 'jpg', previewHeight: 240, ...over };
  const p = recordingPaths(layout, m);
  writeManifest(p.workDir, m);
  return { layout, m, p };
}
