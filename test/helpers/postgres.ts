// Test helper: a throw-away PostgreSQL server (Debian `postgresql`) in a
// mkdtemp directory on a free loopback port, for the PostgreSQL store suite
// and the cluster tests. `initdb` and `pg_ctl` refuse to run as root, so when
// the tests run as root they run as the `postgres` user (`runuser`), and the
// temp dir is handed to that user. The unix socket lives in the temp dir too:
// nothing in /var/run/postgresql or /etc/postgresql is read or written.
// Clients connect over TCP with a password (scram-sha-256), like a real node.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const POSTGRES_APT_INSTALL = 'apt-get install -y --no-install-recommends postgresql';

export interface Postgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  password: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`); `start()` starts it again on the same port and data. */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and removes the temp dir. */
  stop(): Promise<void>;
}

/** The newest `/usr/lib/postgresql/<version>/bin`, or a clear error naming the package to install. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))) : [];
  if (versions.length === 0) throw new Error(`PostgreSQL not found under ${root}; install it: ${POSTGRES_APT_INSTALL}`);
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let dbSeq = 0;

// Servers of this process that stop() has not stopped yet: stopped (and their
// dirs removed) if the test process exits first, so no postgres outlives a test.
const live = new Map<string, () => void>();
let hooked = false;
function onExit(dir: string, kill: () => void): void {
  live.set(dir, kill);
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const k of live.values()) k();
  });
}

/** Starts a fresh PostgreSQL cluster; call `stop()` when done. */
export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bucketcast-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const password = randomBytes(12).toString('hex');
  let uid = -1;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    uid = Number(stdout.trim());
    chownSync(dir, uid, Number(gid.trim()));
  }
  // As root, each PostgreSQL program runs as the postgres user; otherwise as ourselves.
  const pgRun = (prog: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, prog), ...args]) : run(path.join(bin, prog), args);
  const pwFile = path.join(dir, 'pwfile');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (asRoot) chownSync(pwFile, uid, -1);
  const stopped = { value: true };
  const port = await freePort();
  const startServer = async () => {
    await pgRun('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    stopped.value = false;
  };
  const stopServer = async () => {
    if (stopped.value) return;
    await pgRun('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', 'fast', 'stop']);
    stopped.value = true;
  };
  try {
    await pgRun('initdb', ['-D', data, '-U', 'postgres', '--pwfile', pwFile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync']);
    rmSync(pwFile);
    await startServer();
    onExit(dir, () => {
      try {
        const args = [path.join(bin, 'pg_ctl'), '-D', data, '-w', '-m', 'immediate', 'stop'];
        if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', ...args], { stdio: 'ignore' });
        else execFileSync(args[0], args.slice(1), { stdio: 'ignore' });
      } catch {
        // Already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    });
  } catch (err) {
    await stopServer().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    password,
    async createDatabase(name = `t${process.pid}_${++dbSeq}`) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres:${password}@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer,
    async stop() {
      try {
        await stopServer();
      } finally {
        live.delete(dir);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
