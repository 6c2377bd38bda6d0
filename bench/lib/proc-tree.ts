/**
 * CPU and memory of a process tree, read from /proc.
 *
 * CPU: each live process's utime+stime plus cutime+cstime (the time of its
 * children it has already reaped). Summed over the live tree this is monotonic
 * even when processes come and go, since a dead child's time moves into its
 * parent's cutime/cstime when the parent reaps it. The delta of that sum over
 * a window is the CPU the tree used in it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc/<pid>/stat times. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const PAGE_KB = (() => {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) / 1024 || 4;
  } catch {
    return 4;
  }
})();

/** One line of /proc/<pid>/stat, the fields we use. */
export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime, in ticks. */
  ticks: number;
  rssKb: number;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Parses the text of /proc/<pid>/stat (proc(5)). */
export function parseStat(text: string): ProcStat {
  // comm is in parentheses and may itself contain spaces or parentheses: it ends at the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  const n = (field: number) => Number(f[field - 3]);
  return { pid: Number(text.slice(0, text.indexOf(' '))), ppid: n(4), comm, ticks: n(14) + n(15) + n(16) + n(17), rssKb: n(24) * PAGE_KB };
}

/** Every process on the machine. */
export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The processes of the trees rooted at `roots` (roots included). */
export function treeOf(roots: number[], all = allProcesses()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of all) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const out: ProcStat[] = [];
  const stack = roots.map((r) => byPid.get(r)).filter((p): p is ProcStat => !!p);
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p.pid)) continue;
    seen.add(p.pid);
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** Proportional set size of a process in kB (smaps_rollup), undefined when unreadable. */
export function readPssKb(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A point-in-time CPU reading of a set of processes, by pid. */
export type CpuSnapshot = Map<number, { comm: string; ppid: number; ticks: number }>;

export function cpuSnapshot(procs: ProcStat[]): CpuSnapshot {
  return new Map(procs.map((p) => [p.pid, { comm: p.comm, ppid: p.ppid, ticks: p.ticks }]));
}

/** CPU used between two snapshots of one tree, in % of one core, in total and by command name. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, seconds: number): { total: number; byComm: Record<string, number> } {
  const ticks: Record<string, number> = {};
  const add = (comm: string, t: number) => (ticks[comm] = (ticks[comm] ?? 0) + t);
  // A process born inside the window counts from 0.
  for (const [pid, after] of b) add(after.comm, after.ticks - (a.get(pid)?.ticks ?? 0));
  // One that died moved its whole lifetime into its parent's cutime/cstime: take off what it had used before.
  for (const [pid, before] of a) {
    if (b.has(pid)) continue;
    const parent = b.get(before.ppid);
    if (parent) add(parent.comm, -before.ticks);
  }
  const toPct = (t: number) => (Math.max(0, t) / CLK_TCK / seconds) * 100;
  const byComm = Object.fromEntries(Object.entries(ticks).map(([k, v]) => [k, toPct(v)]));
  return { total: toPct(Object.values(ticks).reduce((x, y) => x + y, 0)), byComm };
}

/** Summed memory of a set of processes. */
export interface MemoryReading {
  rssMb: number;
  /** Undefined when smaps_rollup could not be read (kernel < 4.14, or no permission). */
  pssMb?: number;
  /** PSS (or RSS when PSS is unreadable) by command name, MB. */
  byComm: Record<string, number>;
  processes: number;
}

export function memoryOf(procs: ProcStat[]): MemoryReading {
  let pss = 0;
  let pssOk = true;
  const byComm: Record<string, number> = {};
  for (const p of procs) {
    const v = readPssKb(p.pid);
    // A process that exited since the listing is simply skipped; an unreadable live one voids PSS.
    if (v !== undefined) pss += v;
    else if (existsSync(`/proc/${p.pid}`)) pssOk = false;
    byComm[p.comm] = (byComm[p.comm] ?? 0) + (v ?? p.rssKb) / 1024;
  }
  const rss = procs.reduce((s, p) => s + p.rssKb, 0);
  return { rssMb: rss / 1024, pssMb: pssOk ? pss / 1024 : undefined, byComm, processes: procs.length };
}
