// Test helper: a throw-away Ceph cluster (1 mon, 1 memstore OSD, 1 radosgw)
// on loopback, for integration tests that need a real S3 implementation.
// Needs the Debian 12 packages (see radosgw.md):
//   apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd
// Everything (conf, keyring, mon/osd data, sockets, logs) lives in a fresh
// mkdtemp directory; /etc/ceph and /var/lib/ceph are never read or written.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

const run = promisify(execFile);

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Radosgw {
  /** e.g. http://127.0.0.1:41234 — path-style only (use forcePathStyle: true). */
  endpoint: string;
  /** us-east-1: radosgw accepts any SigV4 region, but the SDK sends a
   *  LocationConstraint on CreateBucket for other regions, which radosgw
   *  rejects unless it equals the zonegroup api_name ("default"). */
  region: string;
  /** Owner-level S3 user with fixed keys. */
  admin: S3Keys;
  /** Temp dir holding conf, data and logs (removed by stop()). */
  dir: string;
  /** Creates an S3 user via radosgw-admin (keys generated unless given). */
  createUser(uid: string, keys?: S3Keys): Promise<S3Keys>;
  /** Stops radosgw, then the OSD, then the mon, and removes `dir`. */
  stop(): Promise<void>;
}

export const RADOSGW_APT_INSTALL =
  'apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd';

const ADMIN: S3Keys = {
  accessKeyId: 'BUCKETCASTADMIN00001',
  secretAccessKey: 'bucketcastAdminSecretKey0000000000000001',
};
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

// Daemons (and temp dirs) of this process that stop() has not cleaned up yet:
// SIGKILLed (removed) if the process exits, or gets SIGINT/SIGTERM, first.
// setpriv --pdeathsig also kills the daemons on a `kill -9` of node.
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const c of live) c.kill('SIGKILL');
    for (const d of liveDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {}
    }
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      // Re-raise for the default action, unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A cephx secret: le16 type(1 = AES), le32 sec, le32 nsec, le16 len, 16 bytes. */
function cephxKey(): string {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(1, 0);
  b.writeUInt32LE(Math.floor(Date.now() / 1000), 2);
  b.writeUInt16LE(16, 10);
  randomBytes(16).copy(b, 12);
  return b.toString('base64');
}

function randomKeys(): S3Keys {
  return {
    accessKeyId: 'BC' + randomBytes(9).toString('hex').toUpperCase(),
    secretAccessKey: randomBytes(30).toString('base64').replace(/[+/]/g, 'x'),
  };
}

function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return '';
  const all = readFileSync(file, 'utf8').trimEnd().split('\n');
  return `--- ${path.basename(file)} ---\n${all.slice(-lines).join('\n')}\n`;
}

export interface RadosgwOptions {
  /** Progress lines (start-up steps, timings). */
  log?: (s: string) => void;
  /**
   * Extra settings for radosgw's `[client.rgw]` section, e.g.
   * `{ 'rgw crypt require ssl': false }` to allow SSE over plain HTTP.
   */
  conf?: Record<string, string | number | boolean>;
  /** Advertised size of the OSD's memstore (default 2 GiB); only what is written is allocated (bench:upload raises it for 2 GiB objects). */
  memstoreBytes?: number;
}

export async function startRadosgw(opts: RadosgwOptions = {}): Promise<Radosgw> {
  try {
    return await startOnce(opts);
  } catch (err) {
    // A daemon that dies at start-up is most likely a port taken by someone
    // else between freePort() and the daemon's bind(): try once more.
    if (!(err instanceof DaemonDied)) throw err;
    opts.log?.(`[radosgw] retrying start-up: ${err.message.split('\n')[0]}`);
    return await startOnce(opts);
  }
}

class DaemonDied extends Error {}

async function startOnce(opts: RadosgwOptions): Promise<Radosgw> {
  for (const bin of ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool']) {
    if (!existsSync(`/usr/bin/${bin}`)) throw new Error(`/usr/bin/${bin} missing; run: ${RADOSGW_APT_INSTALL}`);
  }
  installExitHooks();
  const t0 = Date.now();
  const log = (s: string) => opts.log?.(`[radosgw +${Date.now() - t0}ms] ${s}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bucketcast-rgw-'));
  liveDirs.add(dir);
  const [monPort, rgwPort] = await Promise.all([freePort(), freePort()]);
  const conf = path.join(dir, 'ceph.conf');
  const fsid = randomUUID();
  const osdUuid = randomUUID();
  const env = { ...process.env, CEPH_CONF: conf, CEPH_ARGS: '' };
  const daemons: Record<string, ChildProcess> = {};
  const deadline = Date.now() + START_TIMEOUT_MS;
  let died: string | undefined;
  const startup = new AbortController(); // aborted when a daemon dies during start-up

  // `$name` etc. are expanded by Ceph itself (mon.a, osd.0, client.rgw, client.admin).
  await writeFile(conf, `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
# Fail fast if a port got taken (default: 3 tries, 5 s apart); we retry instead.
ms bind retry count = 1
# cephx is required: with auth = none radosgw loops forever at start-up.
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = ${dir}/keyring
run dir = ${dir}
admin socket = ${dir}/$name.asok
pid file = ${dir}/$name.pid
log file = ${dir}/$name.log
crash dir = ${dir}/crash
mon cluster log file = ${dir}/cluster.log
osd pool default size = 1
osd pool default min size = 1
# radosgw creates ~7 pools; keep them small (mon_max_pg_per_osd is 250).
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
[mon]
mon data = ${dir}/mon.$id
# The mon exits when its disk is <5% free (and warns <30%); irrelevant here.
mon data avail crit = 0
mon data avail warn = 0
# Faster paxos commits: every pool radosgw creates is an osdmap proposal.
paxos propose interval = 0.01
paxos min wait = 0.01
[osd]
osd data = ${dir}/osd.$id
osd objectstore = memstore
# memstore only allocates what is written; this is just the advertised size.
memstore device bytes = ${opts.memstoreBytes ?? 2147483648}
[client]
# Under load radosgw sometimes stalled ~5 s after creating a pool (until the
# librados objecter tick re-requested the osdmap that instantiates its PGs).
objecter tick interval = 1
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
rgw thread pool size = 32
${Object.entries(opts.conf ?? {}).map(([k, v]) => `${k} = ${v}\n`).join('')}`);
  // One keyring for everyone; `ceph-mon --mkfs` imports all of it into the auth db.
  const entity = (name: string, caps: Record<string, string>) =>
    `[${name}]\n\tkey = ${cephxKey()}\n` +
    Object.entries(caps).map(([k, v]) => `\tcaps ${k} = "${v}"\n`).join('');
  await writeFile(path.join(dir, 'keyring'),
    entity('mon.', { mon: 'allow *' }) +
    entity('client.admin', { mon: 'allow *', osd: 'allow *', mgr: 'allow *' }) +
    entity('osd.0', { mon: 'allow profile osd', osd: 'allow *', mgr: 'allow profile osd' }) +
    entity('client.rgw', { mon: 'allow rw', osd: 'allow rwx', mgr: 'allow rw' }));

  // Start-up commands are bounded by the start-up deadline and by daemon deaths.
  const cmd = (bin: string, args: string[], timeout = Math.max(1000, deadline - Date.now()),
    signal: AbortSignal | undefined = startup.signal) => run(bin, ['--conf', conf, ...args], { env, timeout, signal });

  const daemon = (name: string, bin: string, args: string[]) => {
    const out = openSync(path.join(dir, `${name}.out`), 'a');
    // -f: stay in the foreground, log to the log file. setpriv makes the kernel
    // SIGKILL the daemon if this node process dies without cleaning up.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', bin, '--conf', conf, '-f', ...args],
      { env, stdio: ['ignore', out, out] });
    closeSync(out);
    child.unref(); // a forgotten stop() must not keep node alive; the exit hook kills it
    live.add(child);
    child.once('exit', (code, sig) => {
      live.delete(child);
      died ??= `${name} exited (code ${code}, signal ${sig})`;
      startup.abort();
    });
    daemons[name] = child;
  };

  const waitFor = async (what: string, probe: () => Promise<boolean>) => {
    while (!(await probe().catch(() => false))) {
      if (died) throw new Error(`while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
    log(`${what}: ok`);
  };

  const stopDaemon = async (name: string) => {
    const c = daemons[name];
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => {
      log(`${name} ignored SIGTERM for ${STOP_TIMEOUT_MS}ms, sending SIGKILL`);
      c.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Order matters: radosgw hangs in shutdown if the OSD is already gone.
    for (const name of ['rgw', 'osd', 'mon']) await stopDaemon(name);
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    log('stopped');
  };

  const addUser = async (uid: string, keys: S3Keys, timeout?: number, signal?: AbortSignal) => {
    await cmd('radosgw-admin', ['user', 'create', `--uid=${uid}`, `--display-name=${uid}`,
      `--access-key=${keys.accessKeyId}`, `--secret=${keys.secretAccessKey}`], timeout, signal);
    return keys;
  };
  const createUser = (uid: string, keys = randomKeys()) => addUser(uid, keys, 60_000);

  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const region = 'us-east-1';
  try {
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`,
      path.join(dir, 'monmap')], { env });
    await mkdir(path.join(dir, 'osd.0'));
    await Promise.all([
      cmd('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')]),
      // --no-mon-config: the mon is not up yet, don't try to fetch config from it.
      cmd('ceph-osd', ['--mkfs', '-i', '0', '--osd-uuid', osdUuid, '--no-mon-config']),
    ]);
    daemon('mon', 'ceph-mon', ['-i', 'a']);
    // Register osd.0 in the osdmap (the CLI waits for the mon to form quorum).
    await cmd('ceph', ['--connect-timeout', '30', 'osd', 'new', osdUuid, '0']);
    log('mon up, osd.0 registered');
    daemon('osd', 'ceph-osd', ['-i', '0']);
    // radosgw just blocks in pool creation until the OSD is up; start it now.
    daemon('rgw', 'radosgw', ['-n', 'client.rgw']);
    // Beast listens only once rgw has created its pools and default zone.
    // (Probes time out: a foreign listener on the port may never answer.)
    await waitFor('radosgw listening',
      async () => (await fetch(endpoint, { signal: AbortSignal.timeout(2000) })).status > 0);
    await addUser('admin', ADMIN);
    const s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: ADMIN });
    try {
      await waitFor('S3 ListBuckets as admin', async () =>
        !!(await s3.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(5000) })));
    } finally {
      s3.destroy();
    }
  } catch (err) {
    // Read `died` before stop() makes every daemon exit.
    const [E, why] = died ? [DaemonDied, `${died} ${(err as Error).message}`] : [Error, (err as Error).message];
    const logs = ['mon.a.log', 'mon.out', 'osd.0.log', 'osd.out', 'client.rgw.log', 'rgw.out',
      'client.admin.log']
      .map((f) => tail(path.join(dir, f))).join('');
    await stop().catch(() => {});
    throw new E(`radosgw start-up failed after ${Date.now() - t0}ms: ${why}\n${logs}`);
  }
  log(`ready at ${endpoint}`);
  return { endpoint, region, admin: ADMIN, dir, createUser, stop };
}
