/**
 * `npm run secrets:rotate -- --new-key-file <path>`: re-encrypts every stored
 * secret with the key in <path> (created with a random key, mode 0600, when
 * missing): the database's, and the sealed files of the data dir (sources
 * added through the API, recording destinations; see rotate-files.ts). The current key is found as the server finds it
 * (`BUCKETCAST_SECRET_KEY`, `BUCKETCAST_SECRET_KEY_FILE`, else
 * `<dataDir>/secret.key`). Stop the server first; afterwards start it with
 * `BUCKETCAST_SECRET_KEY_FILE=<path>`. Exit 0 done, 1 failed (nothing
 * changed), 2 usage or configuration error.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, readSecretKey } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { openDatabase } from '../db/sqlite/database.js';
import { SecretBox } from '../db/secret-box.js';
import { rotateSecrets } from './rotate-secrets.js';
import { prepareFileRotation } from './rotate-files.js';

const USAGE = 'usage: npm run secrets:rotate -- --new-key-file <path>   (stop the server first)\n';

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const i = argv.indexOf('--new-key-file');
  const target = i >= 0 ? argv[i + 1] : undefined;
  if (!target || argv.length !== 2) {
    err(USAGE);
    return 2;
  }
  let dataDir: string;
  let from: SecretBox;
  try {
    dataDir = path.resolve(loadConfig().config.server.dataDir);
    const current = readSecretKey();
    if (!current && !existsSync(path.join(dataDir, 'secret.key'))) throw new Error(`no current key: neither BUCKETCAST_SECRET_KEY(_FILE) nor ${path.join(dataDir, 'secret.key')}`);
    from = current ? SecretBox.fromMaterial(current.material) : SecretBox.load(dataDir, undefined).box;
  } catch (e) {
    err(`secrets:rotate: ${errorMessage(e)}\n`);
    return 2;
  }
  const file = path.resolve(target);
  let to: SecretBox;
  try {
    if (!existsSync(file)) writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    to = SecretBox.fromMaterial(readFileSync(file, 'utf8'));
  } catch (e) {
    err(`secrets:rotate: --new-key-file ${file}: ${errorMessage(e)}\n`);
    return 2;
  }
  if (to.keyId === from.keyId) {
    err('secrets:rotate: the new key is the current key\n');
    return 2;
  }
  const db = openDatabase(dataDir);
  let files: ReturnType<typeof prepareFileRotation> | undefined;
  try {
    // The files first (to temporary files): a value the old key cannot open changes nothing, the database included.
    files = prepareFileRotation(dataDir, from, to);
    const counts = { ...rotateSecrets(db, from, to), ...files.counts };
    files.commit();
    files = undefined;
    out(`re-encrypted ${Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ')} with the key in ${file}\nstart the server with BUCKETCAST_SECRET_KEY_FILE=${file}${existsSync(path.join(dataDir, 'secret.key')) ? ` and remove ${path.join(dataDir, 'secret.key')} (the old key)` : ''}\n`);
    return 0;
  } catch (e) {
    files?.abort();
    err(`secrets:rotate: nothing changed: ${errorMessage(e)}\n`);
    return 1;
  } finally {
    db.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
