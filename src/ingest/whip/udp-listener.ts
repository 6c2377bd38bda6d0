/**
 * What the kernel knows of the recorder's UDP sockets, from /proc (Linux):
 * whether a process listens on given ports (a port counts once a socket bound
 * to it belongs to that process, so a stranger that happens to hold the port is
 * never mistaken for ffmpeg), and whether it has read everything sent to them.
 * Where /proc is not available both just wait a fixed moment.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';

const POLL_MS = 25;
const FALLBACK_WAIT_MS = 750;

/**
 * Resolves true once `pid` has a UDP socket bound to every port, false when
 * `timeoutMs` passed or `cancelled()` turned true first.
 */
export async function waitForUdpListener(pid: number | undefined, ports: readonly number[], timeoutMs: number, cancelled: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  if (pid === undefined || !(await procAvailable())) {
    await sleep(FALLBACK_WAIT_MS);
    return !cancelled();
  }
  while (!cancelled() && Date.now() < deadline) {
    if (await listening(pid, ports)) return true;
    await sleep(POLL_MS);
  }
  return false;
}

async function listening(pid: number, ports: readonly number[]): Promise<boolean> {
  const inodes = await socketInodesByPort(new Set(ports));
  if (inodes.size < ports.length) return false;
  let owned: Set<string>;
  try {
    owned = await processSocketInodes(pid);
  } catch {
    return false; // the process is gone (or not started yet)
  }
  for (const port of ports) {
    const forPort = inodes.get(port) ?? [];
    if (!forPort.some((i) => owned.has(i))) return false;
  }
  return true;
}

/**
 * Resolves once nothing waits unread in the receive queues of the sockets bound
 * to `ports` (or after `timeoutMs`): ffmpeg has read every packet sent so far.
 */
export async function waitForUdpDrained(ports: readonly number[], timeoutMs: number): Promise<void> {
  if (!(await procAvailable())) return sleep(FALLBACK_WAIT_MS);
  const wanted = new Set(ports);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const sockets = await udpSockets(wanted);
    if (sockets.every((s) => s.rxQueue === 0)) return;
    await sleep(POLL_MS);
  }
}

interface UdpSocket {
  port: number;
  inode: string;
  /** Bytes received and not yet read. */
  rxQueue: number;
}

/** UDP sockets bound to the given local ports, from /proc/net/udp and udp6. */
async function udpSockets(ports: Set<number>): Promise<UdpSocket[]> {
  const out: UdpSocket[] = [];
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = parseInt(cols[1].split(':')[1] ?? '', 16);
      if (!ports.has(port)) continue;
      out.push({ port, inode: cols[9], rxQueue: parseInt(cols[4].split(':')[1] ?? '0', 16) });
    }
  }
  return out;
}

/** Inodes of UDP sockets bound to the given local ports. */
async function socketInodesByPort(ports: Set<number>): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const s of await udpSockets(ports)) out.set(s.port, [...(out.get(s.port) ?? []), s.inode]);
  return out;
}

async function processSocketInodes(pid: number): Promise<Set<string>> {
  const dir = `/proc/${pid}/fd`;
  const fds = await readdir(dir);
  const links = await Promise.all(fds.map((fd) => readlink(`${dir}/${fd}`).catch(() => '')));
  const out = new Set<string>();
  for (const l of links) {
    const m = /^socket:\[(\d+)\]$/.exec(l);
    if (m) out.add(m[1]);
  }
  return out;
}

let procChecked: boolean | undefined;
async function procAvailable(): Promise<boolean> {
  if (procChecked === undefined) procChecked = await readFile('/proc/net/udp', 'utf8').then(() => true, () => false);
  return procChecked;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
