// Password hashing off the main thread: bcrypt (bcryptjs) in a worker thread.
// A plain .mjs file because `--import tsx` does not reach workers.
// Messages in: {id, op: 'hash', password, cost} | {id, op: 'compare', password, hash}; out: {id, result} | {id, error}.
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

// bcrypt reads at most 72 bytes: the password is first reduced to its SHA-256 (see passwords.ts).
const prehash = (password) => createHash('sha256').update(password, 'utf8').digest('base64');

parentPort.on('message', (m) => {
  try {
    const result = m.op === 'hash' ? bcrypt.hashSync(prehash(m.password), m.cost) : bcrypt.compareSync(prehash(m.password), m.hash);
    parentPort.postMessage({ id: m.id, result });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
