/**
 * The sealed files of the data dir that `npm run secrets:rotate` re-encrypts
 * beside the database:
 * - `<dataDir>/sources.json`: sources added through the API, their URLs and
 *   outputs sealed under `deriveKey('sources/url')` (src/sources/source-store.ts);
 * - `<dataDir>/destinations/<recordingId>.json`: where each recording goes, its
 *   in-line keys or pre-signed URL sealed under
 *   `deriveKey('recording-destinations')` (src/storage/destinations/book.ts).
 * Everything is opened with the old key and written to temporary files first;
 * a value the old key cannot open fails the whole rotation before anything
 * changed. `commit` renames the temporary files over the originals (after the
 * database transaction), `abort` removes them.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import { SourceStore } from '../sources/source-store.js';
import { SecretBox } from '../db/secret-box.js';

export interface PreparedFiles {
  counts: Record<string, number>;
  commit(): void;
  abort(): void;
}

export function prepareFileRotation(dataDir: string, from: SecretBox, to: SecretBox): PreparedFiles {
  const moves: Array<[string, string]> = [];
  const abort = () => {
    for (const [tmp] of moves) rmSync(tmp, { force: true });
  };
  try {
    const counts = { sources: rotateSources(dataDir, from, to, moves), recording_destinations: rotateDestinations(dataDir, from, to, moves) };
    return {
      counts,
      commit: () => {
        for (const [tmp, file] of moves) renameSync(tmp, file);
      },
      abort,
    };
  } catch (err) {
    abort();
    throw err;
  }
}

function rotateSources(dataDir: string, from: SecretBox, to: SecretBox, moves: Array<[string, string]>): number {
  const file = path.join(dataDir, 'sources.json');
  if (!existsSync(file)) return 0;
  const rows = new SourceStore(dataDir, from.derive('sources/url')).list();
  const unreadable = rows.find((r) => r.url === null || r.output === null);
  if (unreadable) {
    throw new AppError('secret_key_mismatch', `${file}: source "${unreadable.streamId}" of application "${unreadable.app}" cannot be opened with the current key (remove it through the API, or give the key it was saved with)`, 500);
  }
  const tmp = new SourceStore(dataDir, to.derive('sources/url')).prepare(rows.map((r) => ({ ...r, url: r.url!, output: r.output ?? undefined })));
  moves.push([tmp, file]);
  return rows.length;
}

interface SealedSpec {
  sealedUrl?: string;
  credential?: { source: string; sealed?: string };
}

function rotateDestinations(dataDir: string, from: SecretBox, to: SecretBox, moves: Array<[string, string]>): number {
  const dir = path.join(dataDir, 'destinations');
  if (!existsSync(dir)) return 0;
  const old = SecretBox.fromMaterial(from.derive('recording-destinations').toString('hex'));
  const next = SecretBox.fromMaterial(to.derive('recording-destinations').toString('hex'));
  let n = 0;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    const recordingId = f.slice(0, -5);
    const file = path.join(dir, f);
    const d = JSON.parse(readFileSync(file, 'utf8')) as { spec?: SealedSpec };
    const s = d.spec;
    let changed = false;
    if (s?.sealedUrl) {
      s.sealedUrl = next.seal(old.open(s.sealedUrl, recordingId), recordingId);
      changed = true;
    }
    if (s?.credential?.sealed) {
      s.credential.sealed = next.seal(old.open(s.credential.sealed, recordingId), recordingId);
      changed = true;
    }
    if (!changed) continue;
    const tmp = `${file}.rotate.tmp`;
    writeFileSync(tmp, JSON.stringify(d), { mode: 0o600 });
    moves.push([tmp, file]);
    n++;
  }
  return n;
}
