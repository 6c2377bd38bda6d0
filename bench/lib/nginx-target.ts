/**
 * nginx with Debian's libnginx-mod-rtmp, the setup users pick today: `record
 * all` into a temp dir. Started as a child (`daemon off`) with its own config,
 * pid, logs and recordings under a temp dir, on a free port, so no system nginx
 * is involved. With `previews`, it also writes HLS and runs a keyframe-only
 * preview ffmpeg per stream (`exec_push`), to do the same work as bucketcast.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { countFiles, recordedIn, reEscape } from './probe.js';
import type { BenchTarget, Recorded } from './target.js';

const MODULE_CANDIDATES = ['/usr/lib/nginx/modules/ngx_rtmp_module.so', '/usr/share/nginx/modules/ngx_rtmp_module.so'];

/** Where nginx and its RTMP module are (`bin`: an nginx binary to use instead of the one on PATH), or why they cannot be used. */
export function findNginx(bin?: string): { nginx: string; module: string } | { missing: string } {
  const nginx = bin ?? ['/usr/sbin/nginx', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'nginx'))].find((p) => existsSync(p));
  if (!nginx || !existsSync(nginx)) return { missing: `nginx is not installed${bin ? ` at ${bin}` : ''}` };
  const module = MODULE_CANDIDATES.find((m) => existsSync(m));
  if (!module) return { missing: `nginx is installed (${nginx}) but its RTMP module is not (looked for ${MODULE_CANDIDATES.join(', ')})` };
  return { nginx, module };
}

/** nginx's version line, for the report header. */
export function nginxVersion(nginx: string): string {
  // `nginx -v` prints on stderr
  const r = spawnSync(nginx, ['-v'], { encoding: 'utf8' });
  return `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().replace(/^nginx version: /, '');
}

/** A port nobody listens on right now (small race accepted: the bench owns the machine's loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The keyframe-only preview ffmpeg of one stream, the same image outputs bucketcast writes. */
function previewExec(ffmpeg: string, port: number, dir: string): string {
  const filter = `select='isnan(prev_selected_t)+gte(t-prev_selected_t,5)',scale=-2:'min(480,ih)':out_range=full`;
  const image = `-map 0:v -an -vf "${filter}" -fps_mode vfr -c:v mjpeg -q:v 5 -atomic_writing 1 -f image2`;
  return (
    `exec_push ${ffmpeg} -hide_banner -loglevel error -nostats -skip_frame nokey -threads 1 -i rtmp://127.0.0.1:${port}/live/$name ` +
    `${image} ${dir}/$name-%04d.jpg ${image} -update 1 ${dir}/$name.jpg;`
  );
}

export interface NginxOptions {
  nginx: string;
  module: string;
  /** Add HLS and one keyframe-only preview ffmpeg per stream. */
  previews: boolean;
}

export class NginxTarget implements BenchTarget {
  readonly label: string;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly dir: string,
    private readonly port: number,
    previews: boolean,
  ) {
    this.label = previews ? 'nginx-rtmp record all + HLS + preview ffmpeg/stream' : 'nginx-rtmp record all';
    this.exited = new Promise((r) => proc.once('exit', () => r()));
  }

  static async start(o: NginxOptions): Promise<NginxTarget> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-bench-nginx-'));
    // A root master runs its workers (and their exec children) as `nobody`: they must be able to write here.
    chmodSync(dir, 0o755);
    for (const d of ['rec', 'hls', 'previews']) {
      mkdirSync(path.join(dir, d));
      chmodSync(path.join(dir, d), 0o777);
    }
    const port = await freePort();
    const ffmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
    const app = [
      'live on;',
      'record all;',
      `record_path ${dir}/rec;`,
      'record_unique on;',
      ...(o.previews
        ? [`hls on;`, `hls_path ${dir}/hls;`, 'hls_nested on;', 'hls_fragment 2s;', 'hls_playlist_length 3600s;', 'hls_cleanup off;', previewExec(ffmpeg, port, `${dir}/previews`)]
        : []),
    ];
    // One worker: nginx-rtmp's live streams (which exec_push pulls back from) only work within one worker.
    const conf = `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
load_module ${o.module};
events { worker_connections 8192; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    chunk_size 4096;
    application live {
      ${app.join('\n      ')}
    }
  }
}
`;
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const proc = spawn(o.nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const target = new NginxTarget(proc, dir, port, o.previews);
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        await target.dispose();
        throw new Error(`nginx did not start: ${stderr.trim() || readLog(dir)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return target;
  }

  roots(): number[] {
    return [this.proc.pid!];
  }

  publishUrl(streamId: string): string {
    return `rtmp://127.0.0.1:${this.port}/live/${streamId}`;
  }

  async finish(): Promise<void> {
    // SIGQUIT is nginx's graceful shutdown: connections are closed and record files finished.
    await this.stop('SIGQUIT');
  }

  recorded(streamIds: string[]): Promise<Map<string, Recorded>> {
    // record_unique names files `<streamId>-<unix time>.flv`.
    return recordedIn(path.join(this.dir, 'rec'), streamIds, (id) => new RegExp(`^${reEscape(id)}(-\\d+)?\\.flv$`));
  }

  outputs(): string {
    return `${countFiles(path.join(this.dir, 'hls'), '.ts')} HLS segments, ${countFiles(path.join(this.dir, 'previews'), '.jpg')} preview images`;
  }

  /** nginx's error log lines (warn and above), for the report. */
  problems(): string[] {
    // Without the timestamp, pid#tid and connection number, so that repeated lines count as one.
    return readLog(this.dir)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ \S+ /, '').replace(/\d+#\d+: (\*\d+ )?/, '').replace(/process \d+/, 'process <pid>'));
  }

  private async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.signalGroup(signal);
    const t = setTimeout(() => this.signalGroup('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(t);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      // the master first (it tells the workers); SIGKILL goes to the whole group we created
      if (signal === 'SIGKILL') process.kill(-this.proc.pid!, signal);
      else process.kill(this.proc.pid!, signal);
    } catch {
      // already gone
    }
  }

  abort(): void {
    this.signalGroup('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async dispose(keep = false): Promise<void> {
    await this.stop('SIGQUIT');
    if (keep) process.stderr.write(`  kept ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function readLog(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'error.log'), 'utf8').trim();
  } catch {
    return '';
  }
}
