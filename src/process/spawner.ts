/**
 * Starts child processes (the recorders' ffmpeg; remuxes, ffprobe and posters
 * through `run`) from the spawn helper (spawn-helper.mjs) instead of from this
 * process: a fork from a server holding hundreds of MB costs its event loop
 * tens of ms per child, from the helper it costs this process a message. A
 * recorder's stdin comes back over the IPC channel as a socket this process
 * writes; its exit comes back with the last lines of its stderr.
 *
 * The helper is forked on first use (main.ts starts it early, while the
 * server is small) and again after it died. Were it to die with children
 * running, their stdin sockets are closed here (they finish as at the end of a
 * stream) and each is reported exited once its pid is gone, with an unknown
 * status. An idle helper does not keep this process alive.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const HELPER = fileURLToPath(new URL('./spawn-helper.mjs', import.meta.url));

/** How a child ended. */
export interface ChildExit {
  /** Exit code; null when killed by a signal or unknown. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of its stderr (up to 20). */
  tail: string[];
  /** Set when it could not be started, or when its exit status is not known (the helper died). */
  error?: string;
  /** The start's error code (ENOENT, EACCES…), when it could not be started. */
  errorCode?: string;
  /** What a short run (`run`) wrote. */
  stdout?: string;
  stderr?: string;
}

/** What a short run printed. */
export interface RunOutput {
  stdout: string;
  stderr: string;
}

/** A failed run, shaped like `execFile`'s error: the command and its stderr in the message. */
export class RunError extends Error {
  constructor(
    message: string,
    readonly code: number | string | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface SpawnOptions {
  /** Hand back a writable stdin (else stdin is /dev/null). */
  stdin?: boolean;
}

/** One child started by the helper. */
export class HelperChild {
  /** Its pid, once started. */
  pid?: number;
  /** Its stdin, once started (with `stdin: true`). */
  stdin?: Socket;
  /** Resolves once started; rejects when it could not be. */
  readonly spawned: Promise<void>;
  /** Resolves once it has exited (never rejects). */
  readonly exited: Promise<ChildExit>;
  /** @internal */ settleSpawn!: (err?: Error) => void;
  /** @internal */ settleExit!: (e: ChildExit) => void;
  /** @internal */ done = false;

  constructor(
    readonly id: number,
    private readonly owner: Spawner,
  ) {
    this.spawned = new Promise((resolve, reject) => {
      this.settleSpawn = (err) => (err ? reject(err) : resolve());
    });
    // Nobody need wait for the start: a failed one is reported by `exited` too.
    this.spawned.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.settleExit = resolve;
    });
  }

  /** Sends it a signal (no-op once it has exited). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.done) this.owner.kill(this, signal);
  }
}

export class Spawner {
  private helper?: ChildProcess;
  private ids = 0;
  private readonly children = new Map<number, HelperChild>();

  /** Forks the helper now (it is forked on first use otherwise). */
  start(): void {
    this.ensure();
  }

  /** Starts `file args` from the helper. */
  spawn(file: string, args: string[], opts: SpawnOptions = {}): HelperChild {
    return this.request({ op: 'spawn', file, args, stdin: !!opts.stdin });
  }

  /**
   * Runs `file args` to its end from the helper, as `execFile` would: resolves with what it printed (each stream
   * up to `maxBuffer` bytes), rejects with a RunError when it exits non-zero, is killed, or cannot start.
   */
  async run(file: string, args: string[], opts: { maxBuffer?: number } = {}): Promise<RunOutput> {
    const e = await this.request({ op: 'run', file, args, maxBuffer: opts.maxBuffer ?? 8 * 1024 * 1024 }).exited;
    const stdout = e.stdout ?? '';
    const stderr = e.stderr ?? '';
    if (e.code === 0 && !e.error) return { stdout, stderr };
    const command = `${file} ${args.join(' ')}`;
    if (e.errorCode) throw new RunError(`spawn ${file} ${e.errorCode}: ${e.error}`, e.errorCode, null, stdout, stderr);
    throw new RunError(`Command failed: ${command}\n${e.error ? `${e.error}\n` : ''}${stderr}`, e.code, e.signal, stdout, stderr);
  }

  /** Sends the helper one request for a new child, tracked from now on. */
  private request(msg: { op: 'spawn' | 'run'; file: string; args: string[]; [k: string]: unknown }): HelperChild {
    const helper = this.ensure();
    const child = new HelperChild(++this.ids, this);
    this.children.set(child.id, child);
    this.updateRef();
    helper.send({ ...msg, id: child.id });
    return child;
  }

  /** Ends the helper (its running children are left to end on their own). For tests and shutdown. */
  close(): void {
    const h = this.helper;
    this.helper = undefined;
    if (h?.connected) h.disconnect();
  }

  /** @internal */
  kill(child: HelperChild, signal: NodeJS.Signals): void {
    if (this.helper?.connected && this.children.get(child.id) === child) {
      this.helper.send({ op: 'kill', id: child.id, signal });
    } else if (child.pid !== undefined) {
      // Orphaned by a dead helper: signal it directly.
      try {
        process.kill(child.pid, signal);
      } catch {
        // gone already
      }
    }
  }

  private ensure(): ChildProcess {
    if (this.helper?.connected) return this.helper;
    // Without the server's node flags (--import tsx, heap sizing): the helper is plain JavaScript and small.
    const h = fork(HELPER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    h.on('message', (m: HelperMessage, handle?: unknown) => this.onMessage(m, handle as Socket | undefined));
    h.on('exit', () => this.onHelperExit(h));
    // An error of the IPC channel ends in 'exit' too.
    h.on('error', () => {});
    this.helper = h;
    this.updateRef();
    return h;
  }

  private onMessage(m: HelperMessage, handle: Socket | undefined): void {
    const child = this.children.get(m.id);
    if (!child) {
      handle?.destroy();
      return;
    }
    if (m.op === 'spawned') {
      child.pid = m.pid;
      if (handle) {
        // Writes after the child has gone fail with EPIPE: its exit says why.
        handle.on('error', () => {});
        child.stdin = handle;
      }
      child.settleSpawn();
    } else if (m.op === 'exit') {
      this.finish(child, { code: m.code, signal: m.signal, tail: m.tail ?? [], error: m.error, errorCode: m.errorCode, stdout: m.stdout, stderr: m.stderr });
    }
  }

  private finish(child: HelperChild, exit: ChildExit): void {
    if (child.done) return;
    child.done = true;
    this.children.delete(child.id);
    if (child.pid === undefined) child.settleSpawn(new Error(exit.error ?? 'the process did not start'));
    child.settleExit(exit);
    this.updateRef();
  }

  private onHelperExit(h: ChildProcess): void {
    if (this.helper === h) this.helper = undefined;
    for (const child of [...this.children.values()]) {
      if (child.pid === undefined) {
        this.finish(child, { code: null, signal: null, tail: [], error: 'the spawn helper exited before the process started' });
        continue;
      }
      // End-of-input, as at the end of a stream; report it once it is gone.
      child.stdin?.end();
      void waitGone(child.pid).then(() => this.finish(child, { code: null, signal: null, tail: [], error: 'the spawn helper exited; the exit status is not known' }));
    }
  }

  /** The helper keeps this process alive only while it has children. */
  private updateRef(): void {
    const h = this.helper;
    if (!h) return;
    const busy = this.children.size > 0;
    const channel = h.channel as unknown as { ref(): void; unref(): void } | undefined;
    if (busy) {
      h.ref();
      channel?.ref();
    } else {
      h.unref();
      channel?.unref();
    }
  }
}

type HelperMessage =
  | { op: 'spawned'; id: number; pid: number }
  | { op: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null; tail?: string[]; error?: string; errorCode?: string; stdout?: string; stderr?: string };

/** Resolves once `pid` has exited (gone, or a zombie nobody reaps). */
async function waitGone(pid: number): Promise<void> {
  for (;;) {
    let state: string | undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

let shared: Spawner | undefined;

/** The process's spawner. */
export function sharedSpawner(): Spawner {
  shared ??= new Spawner();
  return shared;
}

/** `execFile` from the process's spawn helper. */
export function runFile(file: string, args: string[], opts?: { maxBuffer?: number }): Promise<RunOutput> {
  return sharedSpawner().run(file, args, opts);
}
