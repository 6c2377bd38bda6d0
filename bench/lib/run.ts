/**
 * One measurement: N pushers against one freshly started server for a while,
 * CPU and memory sampled over the steady-state window, then every stream's
 * pushed seconds compared with its recorded seconds.
 *
 * Timeline: spawn N pushers → all sending → warm-up (not measured: connection
 * set-up, ffmpeg start, probing) → window (measured) → SIGINT the pushers →
 * wait until the server has finalized every recording → ffprobe them.
 */
import { readFileSync } from 'node:fs';
import { cpuBetween, cpuSnapshot, memoryOf, readStat, treeOf, CLK_TCK, type CpuSnapshot, type MemoryReading } from './proc-tree.js';
import { startPusher, stopPushers, type Pusher } from './pushers.js';
import type { BenchTarget } from './target.js';

/** A stream loses when it recorded less than pushed minus this (seconds). */
export const LOSS_TOLERANCE_S = 1;

export interface StreamResult {
  streamId: string;
  /** Media seconds the pusher sent. */
  pushed: number;
  /** Seconds the pusher would have sent in real time, from its first packet to its stop. */
  realtime: number;
  recorded: number;
  files: number;
  /** Why the pusher failed: it ended by itself (e.g. refused), or never sent a packet. */
  pusherError?: string;
}

export interface RunResult {
  target: string;
  n: number;
  /** Length of the measured window. */
  windowSeconds: number;
  /** Server tree CPU, % of one core. */
  serverCpu: number;
  /** Server tree CPU by command name (node, ffmpeg, nginx …). */
  serverCpuByComm: Record<string, number>;
  /** Peak of the server tree's memory in the window. */
  memory: MemoryReading;
  /** The pushers' CPU, % of one core (not part of the server figure). */
  pushersCpu: number;
  /** CPU of everything else on the machine in the window (other users, the bench itself), % of one core. */
  otherCpu: number;
  streams: StreamResult[];
  /** Streams with recorded < pushed − 1 s. */
  losing: number;
  /** Streams whose pusher fell more than 1 s behind real time (the server did not read fast enough), or failed. */
  behind: number;
  /** Most negative recorded − pushed over the streams. */
  worstDiff: number;
  ok: boolean;
  /** Warnings and errors the server logged. */
  problems: string[];
  /** HLS segments and previews written, in short. */
  outputs: string;
}

export interface RunOptions {
  n: number;
  /** Seconds of pushing, from the moment every pusher is sending. */
  seconds: number;
  /** Seconds at the start not measured. */
  warmup: number;
  fixture: string;
  /** Status lines go here (stderr), the table goes to stdout. */
  progress: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Busy ticks of the whole machine (all cores) from /proc/stat. */
function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
}

function pusherSnapshot(pushers: Pusher[]): CpuSnapshot {
  return cpuSnapshot(pushers.map((p) => readStat(p.proc.pid!)).filter((s) => s !== undefined));
}

export async function runOnce(target: BenchTarget, o: RunOptions): Promise<RunResult> {
  const ids = Array.from({ length: o.n }, (_, i) => `bench-${String(i + 1).padStart(3, '0')}`);
  const pushers = ids.map((id) => startPusher(id, target.publishUrl(id), o.fixture));
  const firstPacketAt = new Map<string, number>();
  const track = setInterval(() => {
    for (const p of pushers) if (!firstPacketAt.has(p.streamId) && p.pushedSeconds() > 0) firstPacketAt.set(p.streamId, Date.now() - p.pushedSeconds() * 1000);
  }, 100);
  try {
    // Wait until every pusher sends (or has failed).
    const connectDeadline = Date.now() + 30_000 + o.n * 500;
    while (pushers.some((p) => p.pushedSeconds() === 0 && p.proc.exitCode === null) && Date.now() < connectDeadline) await sleep(100);
    const t0 = Date.now();
    o.progress(`  ${pushers.filter((p) => p.pushedSeconds() > 0).length}/${o.n} pushers sending; warm-up ${o.warmup} s, then measuring ${o.seconds - o.warmup} s`);
    await sleep(o.warmup * 1000);

    const server0 = cpuSnapshot(treeOf(target.roots()));
    const push0 = pusherSnapshot(pushers);
    const busy0 = machineBusyTicks();
    const w0 = Date.now();
    const memory: MemoryReading = { rssMb: 0, byComm: {}, processes: 0 };
    const end = t0 + o.seconds * 1000;
    // Memory is read every few seconds (smaps_rollup walks page tables; not free at large N); peaks kept.
    for (;;) {
      const m = memoryOf(treeOf(target.roots()));
      if (m.rssMb > memory.rssMb) Object.assign(memory, { rssMb: m.rssMb, processes: m.processes });
      if (m.pssMb !== undefined && m.pssMb > (memory.pssMb ?? 0)) Object.assign(memory, { pssMb: m.pssMb, byComm: m.byComm });
      if (Date.now() + 5000 >= end) break;
      await sleep(5000);
    }
    await sleep(end - Date.now());
    const server1 = cpuSnapshot(treeOf(target.roots()));
    const push1 = pusherSnapshot(pushers);
    const busy1 = machineBusyTicks();
    const windowSeconds = (Date.now() - w0) / 1000;

    const stopAt = Date.now();
    clearInterval(track);
    await stopPushers(pushers);
    o.progress(`  pushers stopped; waiting for the server to finalize ${o.n} recordings`);
    await target.finish(ids);
    const recorded = await target.recorded(ids);

    const server = cpuBetween(server0, server1, windowSeconds);
    const pushersCpu = cpuBetween(push0, push1, windowSeconds).total;
    const machine = ((busy1 - busy0) / CLK_TCK / windowSeconds) * 100;
    const streams: StreamResult[] = [];
    for (const p of pushers) {
      const exit = await p.done;
      const first = firstPacketAt.get(p.streamId);
      const r = recorded.get(p.streamId) ?? { seconds: 0, files: 0 };
      // A pusher ended with SIGINT exits 255 after flushing: that is our stop, not an error.
      const failed = exit.code !== 255 && exit.code !== 0;
      const error = failed ? `exit ${exit.code ?? exit.signal}: ${exit.stderr.split('\n').slice(-2).join(' | ')}` : first === undefined ? 'never sent a packet' : undefined;
      streams.push({
        streamId: p.streamId,
        pushed: p.pushedSeconds(),
        realtime: first ? (stopAt - first) / 1000 : 0,
        recorded: r.seconds,
        files: r.files,
        pusherError: error,
      });
    }
    const losing = streams.filter((s) => s.recorded < s.pushed - LOSS_TOLERANCE_S).length;
    const behind = streams.filter((s) => s.pusherError || s.pushed < s.realtime - LOSS_TOLERANCE_S).length;
    const worstDiff = Math.min(...streams.map((s) => s.recorded - s.pushed));
    return {
      target: target.label,
      n: o.n,
      windowSeconds,
      serverCpu: server.total,
      serverCpuByComm: server.byComm,
      memory,
      pushersCpu,
      otherCpu: Math.max(0, machine - server.total - pushersCpu),
      streams,
      losing,
      behind,
      worstDiff,
      ok: losing === 0 && behind === 0,
      problems: target.problems(),
      outputs: target.outputs(),
    };
  } finally {
    clearInterval(track);
    await stopPushers(pushers);
  }
}
