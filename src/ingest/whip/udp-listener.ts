/**
 * Waits until a process listens on given UDP ports, from /proc (Linux): a port
 * counts once a socket bound to it belongs to that process, so a stranger that
 * happens to hold the port is never mistaken for ffmpeg. Where /proc is not
 * available it just waits a fixed moment.
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

/** Inodes of UDP sockets bound to the given local ports, from /proc/net/udp and udp6. */
async function socketInodesByPort(ports: Set<number>): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = parseInt(cols[1].split(':')[1] ?? '', 16);
      if (!ports.has(port)) continue;
      const inode = cols[9];
      out.set(port, [...(out.get(port) ?? []), inode]);
    }
  }
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
