/**
 * The spawn helper (spawner.ts): a small Node process, forked at startup while
 * it is small, that starts the server's long-lived ffmpeg processes on request.
 * libuv starts a child by fork(), which copies the forking process's page
 * tables: from a server holding hundreds of MB of stream caches that took 38–46
 * ms of its event loop per recorder (5 ms from a 40 MB process), and at 64
 * publishers arriving together the starts queued behind each other. Here the
 * fork is cheap and off the server's event loop.
 *
 * The child's stdin (a socket pair) is handed to the parent over the IPC
 * channel and closed here, so the server writes the media itself and the
 * child sees end-of-input when the server's end closes — also when the server
 * dies. The last lines of the child's stderr are kept here and sent with its
 * exit. Plain JavaScript: it runs without tsx, on `node` alone.
 *
 * Short runs (remux, ffprobe, a poster) come here too (`run`): their output is
 * collected here and sent with their exit.
 *
 * Messages in:  {op:'spawn', id, file, args, stdin: boolean} | {op:'run', id, file, args, maxBuffer} |
 *               {op:'kill', id, signal}
 * Messages out: {op:'spawned', id, pid} (with the stdin socket as handle when asked for) |
 *               {op:'exit', id, code, signal, tail, error?, errorCode?, stdout?, stderr?} (stdout and stderr: runs only)
 */
import { spawn } from 'node:child_process';

/** Lines of stderr kept for the exit message. */
const TAIL_LINES = 20;

/** Children by request id. */
const children = new Map();

function send(msg, handle) {
  if (!process.connected) return;
  // A handle is closed here once the parent has it.
  process.send(msg, handle, { keepOpen: false }, () => {});
}

/**
 * Starts `file args` with `stdio` under request `id`; its exit goes to the parent with `extra()` (what the caller
 * collected). Undefined when it could not even be spawned (that is reported at once).
 */
function launch({ id, file, args }, stdio, extra) {
  let child;
  try {
    child = spawn(file, args, { stdio, windowsHide: true });
  } catch (err) {
    send({ op: 'exit', id, code: null, signal: null, tail: [], error: err.message, errorCode: err.code });
    return undefined;
  }
  children.set(id, child);
  let spawnError;
  child.on('error', (err) => {
    spawnError = err;
  });
  child.on('close', (code, signal) => {
    children.delete(id);
    send({ op: 'exit', id, code, signal, tail: [], error: spawnError?.message, errorCode: spawnError?.code, ...extra() });
  });
  return child;
}

/** A long run (a recorder): its stdin handed to the parent, the last lines of its stderr kept for the exit. */
function start(m) {
  const tail = [];
  let partial = '';
  const child = launch(m, [m.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], () => ({ tail: partial ? [...tail, partial].slice(-TAIL_LINES) : tail }));
  if (!child) return;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    const lines = (partial + text).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
  });
  if (child.pid === undefined) return; // 'error' then 'close' report it
  if (m.stdin) {
    // The parent writes it; a write after the child has gone fails there, not here.
    child.stdin.on('error', () => {});
    send({ op: 'spawned', id: m.id, pid: child.pid }, child.stdin);
  } else {
    send({ op: 'spawned', id: m.id, pid: child.pid });
  }
}

/** Up to `max` bytes of what `stream` writes, as text once asked for. */
function collect(stream, max) {
  const chunks = [];
  let size = 0;
  stream.on('data', (d) => {
    if (size >= max) return;
    chunks.push(d.subarray(0, max - size));
    size += d.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/** A short run: stdout and stderr collected (each up to maxBuffer bytes, the rest dropped) and sent with the exit. */
function runOnce(m) {
  let stdout = () => '';
  let stderr = () => '';
  const child = launch(m, ['ignore', 'pipe', 'pipe'], () => ({ stdout: stdout(), stderr: stderr() }));
  if (!child) return;
  stdout = collect(child.stdout, m.maxBuffer);
  stderr = collect(child.stderr, m.maxBuffer);
  if (child.pid !== undefined) send({ op: 'spawned', id: m.id, pid: child.pid });
}

process.on('message', (m) => {
  if (m?.op === 'spawn') start(m);
  else if (m?.op === 'run') runOnce(m);
  else if (m?.op === 'kill') children.get(m.id)?.kill(m.signal);
});

// The server has gone: its children keep running to their end (end-of-input reaches them through their stdin).
process.on('disconnect', () => process.exit(0));
