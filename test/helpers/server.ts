/**
 * Starts the real server (`src/main.ts` through tsx) as a child process in its
 * own process group, on port 0, with a temporary data dir and config file.
 * Its JSON log lines are collected so tests can assert on them; with
 * `events: true` it also logs in as admin and listens on `/api/v1/events`, so
 * tests wait on what happened (`server.events.waitFor('recording.completed', …)`)
 * rather than on log wording.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, login } from './api.js';
import { ServerEvents } from './events.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The node flags `npm start` runs the server with (package.json's `start` script, between `node` and `dist/main.js`;
 * the Dockerfile's CMD has the same ones): tests and benches run the server with them, from the sources through tsx
 * (`compiled: true`: from dist/, what `npm start` runs).
 */
export const SERVER_NODE_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^node((?: --[^ ]+)*?) dist\/main\.js$/.exec(start);
  if (!m) throw new Error(`package.json start script not understood: ${start}`);
  return m[1].split(' ').filter(Boolean);
})();

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface ServerOptions {
  /**
   * Config file contents (written to a temp file and passed as BUCKETCAST_CONFIG).
   * Without one, the server records app `live` with uploads off, so tests of
   * local files are not raced by the upload pipeline (primary mode deletes them).
   */
  config?: Record<string, unknown>;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Reuse a data dir (restart tests); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Print the server's output (debugging). */
  verbose?: boolean;
  /**
   * Listen on `/api/v1/events` from the moment the server is ready (`server.events`).
   * Logs in as admin with `env.BUCKETCAST_ADMIN_PASSWORD`, which defaults to `ADMIN_PASSWORD`.
   */
  events?: boolean;
  /** Node flags of the server process (default `SERVER_NODE_FLAGS`, those of `npm start`); the benches A/B them. */
  nodeFlags?: string[];
  /** Run dist/main.js (built beforehand with `npm run build`) instead of src/main.ts through tsx. */
  compiled?: boolean;
}

export interface TestServer {
  proc: ChildProcess;
  dataDir: string;
  httpPort: number;
  rtmpPort: number;
  /** The RTMPS listener's port, when `server.rtmpsPort` is set. */
  rtmpsPort?: number;
  httpUrl: string;
  /** `rtmp://127.0.0.1:<port>/<app>/<streamId>` */
  rtmpUrl(app: string, streamId: string): string;
  logs: LogLine[];
  /** Raw output lines that were not JSON (should stay empty). */
  otherOutput: string[];
  /** The `/api/v1/events` channel since the server was ready (start it with `events: true`). */
  events: ServerEvents;
  /** Waits for a log line matching the predicate (past lines included). */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number, label?: string): Promise<LogLine>;
  /** Sends a signal to the whole process group (the server and its ffmpeg children). */
  killGroup(signal: NodeJS.Signals): void;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait (SIGKILL after a timeout). */
  stop(): Promise<void>;
  /** Removes the data dir. */
  cleanup(): void;
}

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of started) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'bucketcast-test-'));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    BUCKETCAST_HTTP_PORT: '0',
    BUCKETCAST_RTMP_PORT: '0',
    BUCKETCAST_HOST: '127.0.0.1',
    BUCKETCAST_DATA_DIR: dataDir,
    BUCKETCAST_LOG_LEVEL: 'debug',
    // Never let the AWS credential chain reach for the instance metadata service (not loopback).
    AWS_EC2_METADATA_DISABLED: 'true',
    // Every JSON answer is checked against its route's declared schema (a mismatch is a 500 `answer_schema_mismatch`).
    BUCKETCAST_CHECK_ANSWERS: '1',
    ...(opts.events ? { BUCKETCAST_ADMIN_PASSWORD: ADMIN_PASSWORD } : {}),
    ...opts.env,
  };
  // Tests that give no config record locally only; storage tests pass their own.
  const config = opts.config ?? { applications: [{ name: 'live', s3RecordingEnabled: false }] };
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-cfg-'));
  const file = path.join(configDir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  env.BUCKETCAST_CONFIG = file;
  // CPU_PROFILE_DIR=<dir>: each server writes a V8 CPU profile there when it exits (bench/cpu-blocks.mjs reads it).
  const profile = process.env.CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-interval=2000', `--cpu-prof-dir=${process.env.CPU_PROFILE_DIR}`] : [];
  const entry = opts.compiled ? [path.join(ROOT, 'dist/main.js')] : ['--import', 'tsx', path.join(ROOT, 'src/main.ts')];
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? SERVER_NODE_FLAGS), ...profile, ...entry], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(proc);
  const logs: LogLine[] = [];
  const otherOutput: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    if (!line.trim()) return;
    if (opts.verbose) process.stderr.write(`[server] ${line}\n`);
    try {
      const l = JSON.parse(line) as LogLine;
      logs.push(l);
      // A test may expect some 500; the schema disagreement behind it is shown anyway.
      if (l.msg === 'answer does not match its declared schema') process.stderr.write(`[server] answer_schema_mismatch: ${JSON.stringify({ route: l.route, status: l.status, issues: l.issues })}\n`);
    } catch {
      otherOutput.push(line);
    }
    for (const w of [...waiters]) w();
  };
  for (const stream of [proc.stdout!, proc.stderr!]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      started.delete(proc);
      resolve({ code, signal });
      for (const w of [...waiters]) w();
    }),
  );

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 30_000, label = 'log line') =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find(pred);
        if (found) {
          cleanup();
          resolve(found);
        } else if (proc.exitCode !== null || proc.signalCode !== null) {
          cleanup();
          reject(new Error(`server exited before ${label}; last output:\n${tail(logs, otherOutput)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}; last output:\n${tail(logs, otherOutput)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const ready = await waitForLog((l) => l.msg === 'bucketcast ready', 60_000, 'bucketcast ready');
  const httpPort = Number(ready.httpPort);
  const rtmpPort = Number(ready.rtmpPort);
  const rtmpsPort = ready.rtmpsPort === undefined ? undefined : Number(ready.rtmpsPort);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, signal);
    } catch {
      // already gone
    }
  };
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  let events: ServerEvents | undefined;
  if (opts.events) {
    try {
      const api = await login(httpUrl, env.BUCKETCAST_ADMIN_PASSWORD);
      events = await ServerEvents.open(api, () => tail(logs, otherOutput));
    } catch (err) {
      killGroup('SIGKILL');
      throw err;
    }
  }
  return {
    proc,
    dataDir,
    httpPort,
    rtmpPort,
    rtmpsPort,
    httpUrl,
    get events(): ServerEvents {
      if (!events) throw new Error('server.events needs startServer({ events: true })');
      return events;
    },
    rtmpUrl: (app, id) => `rtmp://127.0.0.1:${rtmpPort}/${app}/${id}`,
    logs,
    otherOutput,
    waitForLog,
    killGroup,
    exited,
    async stop() {
      events?.close();
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      killGroup('SIGTERM');
      const t = setTimeout(() => killGroup('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    },
  };
}

function tail(logs: LogLine[], other: string[]): string {
  return [...logs.slice(-15).map((l) => JSON.stringify(l)), ...other.slice(-10)].join('\n');
}

/** Waits until `cond` holds, polling. */
export async function until<T>(cond: () => T | Promise<T>, timeoutMs = 30_000, label = 'condition', everyMs = 200): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
