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

function start({ id, file, args, stdin }) {
  let child;
  const tail = [];
  let partial = '';
  let spawnError;
  try {
    child = spawn(file, args, { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], windowsHide: true });
  } catch (err) {
    send({ op: 'exit', id, code: null, signal: null, tail, error: err.message, errorCode: err.code });
    return;
  }
  children.set(id, child);
  child.on('error', (err) => {
    spawnError = err;
  });
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
  child.on('close', (code, signal) => {
    children.delete(id);
    if (partial) tail.push(partial);
    send({ op: 'exit', id, code, signal, tail: tail.slice(-TAIL_LINES), error: spawnError?.message, errorCode: spawnError?.code });
  });
  if (child.pid === undefined) return; // 'error' then 'close' report it
  if (stdin) {
    // The parent writes it; a write after the child has gone fails there, not here.
    child.stdin.on('error', () => {});
    send({ op: 'spawned', id, pid: child.pid }, child.stdin);
  } else {
    send({ op: 'spawned', id, pid: child.pid });
  }
}

/** A short run: stdout and stderr collected (each up to maxBuffer bytes, the rest dropped) and sent with the exit. */
function runOnce({ id, file, args, maxBuffer }) {
  let child;
  try {
    child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  } catch (err) {
    send({ op: 'exit', id, code: null, signal: null, tail: [], error: err.message, errorCode: err.code });
    return;
  }
  children.set(id, child);
  let spawnError;
  child.on('error', (err) => {
    spawnError = err;
  });
  const collect = (stream) => {
    const chunks = [];
    let size = 0;
    stream.on('data', (d) => {
      if (size >= maxBuffer) return;
      chunks.push(d.subarray(0, maxBuffer - size));
      size += d.length;
    });
    return () => Buffer.concat(chunks).toString('utf8');
  };
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  child.on('close', (code, signal) => {
    children.delete(id);
    send({ op: 'exit', id, code, signal, tail: [], error: spawnError?.message, errorCode: spawnError?.code, stdout: stdout(), stderr: stderr() });
  });
  if (child.pid !== undefined) send({ op: 'spawned', id, pid: child.pid });
}

process.on('message', (m) => {
  if (m?.op === 'spawn') start(m);
  else if (m?.op === 'run') runOnce(m);
  else if (m?.op === 'kill') children.get(m.id)?.kill(m.signal);
});

// The server has gone: its children keep running to their end (end-of-input reaches them through their stdin).
process.on('disconnect', () => process.exit(0));
