/** Far ends for source tests: an RTSP camera stand-in (GStreamer), and helpers to wait on a source's state. */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './server.js';
import type { ApiClient } from './api.js';

const CAMERA = fileURLToPath(new URL('./rtsp-camera.py', import.meta.url));
/** Debian's python (python3-gi lives there, not in a pyenv). */
const PYTHON = '/usr/bin/python3';

export interface RtspCamera {
  port: number;
  proc: ChildProcess;
  /** `rtsp://[user:password@]127.0.0.1:<port>/cam` */
  url: string;
  stop(): Promise<void>;
}

/** Starts the camera stand-in (port 0: a free one); `auth` is `user:password`. */
export async function startRtspCamera(port = 0, auth?: string): Promise<RtspCamera> {
  const proc = spawn(PYTHON, [CAMERA, String(port), ...(auth ? [auth] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const bound = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`rtsp camera exited (${code}): ${err}`)));
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return {
    port: bound,
    proc,
    url: `rtsp://${auth ? `${auth}@` : ''}127.0.0.1:${bound}/cam`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until a source is in `state` (and `pred` holds); returns its view. */
export async function sourceState(api: ApiClient, app: string, streamId: string, state: string, timeoutMs = 30_000, pred: (s: any) => boolean = () => true): Promise<any> {
  let last = '';
  try {
    return await until(
      async () => {
        const r = await api.get(`/api/v1/applications/${app}/sources/${streamId}`);
        last = r.text;
        return r.status === 200 && r.json.state === state && pred(r.json) ? r.json : undefined;
      },
      timeoutMs,
      `source ${streamId} ${state}`,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last answer: ${last}`);
  }
}

/** Downloads a URL to a temporary file (for ffprobe). */
export async function download(url: string, name = 'dl.mp4'): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const file = path.join(os.tmpdir(), `bucketcast-${process.pid}-${Date.now()}-${name}`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}
