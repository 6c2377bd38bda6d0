/**
 * Where recording files live under the data dir. The public folders mirror the
 * URLs: `<dataDir>/<app>/streams/` is served at `/<app>/streams/`, and
 * `<dataDir>/<app>/previews/` at `/<app>/previews/`. Recordings in progress
 * keep their crash-safe file and manifest in `<dataDir>/.work/<recordingId>/`.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';

export class DataLayout {
  /** Absolute data dir. */
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir);
  }

  /** Folders already joined, per app: asked on every media request. */
  private readonly dirs = { streams: new Map<string, string>(), previews: new Map<string, string>() };

  streamsDir(app: string): string {
    return this.dir(app, 'streams');
  }

  previewsDir(app: string): string {
    return this.dir(app, 'previews');
  }

  private dir(app: string, folder: 'streams' | 'previews'): string {
    const known = this.dirs[folder];
    let dir = known.get(app);
    if (dir === undefined) {
      dir = path.join(this.root, app, folder);
      if (known.size >= 4096) known.clear();
      known.set(app, dir);
    }
    return dir;
  }

  /** Parent of every in-progress recording's work dir. */
  get workRoot(): string {
    return path.join(this.root, '.work');
  }

  workDir(recordingId: string): string {
    return path.join(this.workRoot, recordingId);
  }

  /** Creates an app's public folders. */
  ensureApp(app: string): void {
    mkdirSync(this.streamsDir(app), { recursive: true });
    mkdirSync(this.previewsDir(app), { recursive: true });
  }
}
