/**
 * The measuring parts of `npm run bench:ingest` (bench/lib): /proc parsing,
 * process-tree CPU accounting when processes come and go, and the verdict the
 * table prints. The benchmark itself is run by hand, not here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLK_TCK, cpuBetween, memoryOf, parseStat, readStat, treeOf, type CpuSnapshot } from '../../bench/lib/proc-tree.js';
import { perStream, resultTable } from '../../bench/lib/report.js';
import type { RunResult } from '../../bench/lib/run.js';

test('stat lines parse even when the command name holds spaces and parentheses', () => {
  // pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17) … rss(24)
  const fields = ['S', '77', ...Array.from({ length: 9 }, () => '0'), '100', '20', '7', '3', '0', '0', '1', '0', '0', '0', '50'];
  const s = parseStat(`4242 (we(ird) name) ${fields.join(' ')} 0 0`);
  assert.equal(s.pid, 4242);
  assert.equal(s.comm, 'we(ird) name');
  assert.equal(s.ppid, 77);
  assert.equal(s.ticks, 130);
  assert.ok(s.rssKb >= 50 * 4);
});

test('tree CPU counts a child that died in the window once, from the window start', () => {
  const ticks = (sec: number) => sec * CLK_TCK;
  const a: CpuSnapshot = new Map([
    [1, { comm: 'node', ppid: 0, ticks: ticks(10) }],
    [2, { comm: 'ffmpeg', ppid: 1, ticks: ticks(5) }],
  ]);
  // pid 2 used 3 s more, then died: its whole 8 s moved into node's cutime. pid 3 was born and used 2 s.
  const b: CpuSnapshot = new Map([
    [1, { comm: 'node', ppid: 0, ticks: ticks(10 + 1 + 8) }],
    [3, { comm: 'ffmpeg', ppid: 1, ticks: ticks(2) }],
  ]);
  const r = cpuBetween(a, b, 10);
  assert.equal(Math.round(r.total), 60); // 1 + 3 + 2 s of CPU over 10 s
  assert.equal(Math.round(r.byComm.node), 40); // node's own 1 s plus the dead child's 3 s
  assert.equal(Math.round(r.byComm.ffmpeg), 20);
});

test('a real process tree is found with its children, and its memory read', async () => {
  const sh = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
  try {
    // Poll: for a moment after each fork a child is still called `sh` (or `node`) before it execs.
    const comms = () => treeOf([sh.pid!]).map((p) => p.comm).sort().join(',');
    for (let i = 0; i < 100 && comms() !== 'sh,sleep,sleep'; i++) await new Promise((r) => setTimeout(r, 50));
    const tree = treeOf([sh.pid!]);
    assert.deepEqual(tree.map((p) => p.comm).sort(), ['sh', 'sleep', 'sleep']);
    assert.equal(readStat(sh.pid!)?.ppid, process.pid);
    const mem = memoryOf(tree);
    assert.equal(mem.processes, 3);
    assert.ok(mem.rssMb > 0);
    if (mem.pssMb !== undefined) assert.ok(mem.pssMb > 0 && mem.pssMb <= mem.rssMb + 0.01);
  } finally {
    // The sleeps first, by their own pids: sh's `wait` then reaps them and sh exits by itself.
    const exited = new Promise((r) => sh.once('exit', r));
    for (const p of treeOf([sh.pid!])) if (p.pid !== sh.pid) process.kill(p.pid, 'SIGKILL');
    const t = setTimeout(() => sh.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }
});

test('the table says NO when one stream recorded a second less than it pushed', () => {
  const stream = (streamId: string, pushed: number, recorded: number) => ({ streamId, pushed, realtime: pushed, recorded, files: 1 });
  const base: Omit<RunResult, 'streams' | 'losing' | 'worstDiff' | 'ok'> = {
    target: 'bucketcast',
    n: 2,
    windowSeconds: 20,
    serverCpu: 10,
    serverCpuByComm: { node: 4, ffmpeg: 6 },
    memory: { rssMb: 300, pssMb: 200, byComm: { node: 120, ffmpeg: 80 }, processes: 3 },
    pushersCpu: 2,
    otherCpu: 0,
    behind: 0,
    problems: [],
    outputs: '',
  };
  const good: RunResult = { ...base, streams: [stream('s1', 30, 30), stream('s2', 30, 29.5)], losing: 0, worstDiff: -0.5, ok: true };
  const bad: RunResult = { ...base, streams: [stream('s1', 30, 30), stream('s2', 30, 28.5)], losing: 1, worstDiff: -1.5, ok: false };
  const table = resultTable([good, bad]).split('\n');
  assert.equal(table.length, 4);
  assert.match(table[2], /\| 0\/2 \| 0\/2 \| yes \|$/);
  assert.match(table[3], /\| 1\/2 \| 0\/2 \| \*\*NO\*\* \|$/);
  assert.match(perStream([bad]), /s2 30\.0→28\.5 \(!\)/);
  assert.doesNotMatch(perStream([good]), /\(!\)/);
  // Past 16 streams only the bad ones are listed, with a count of the rest.
  const many: RunResult = { ...bad, n: 20, streams: [...bad.streams, ...Array.from({ length: 18 }, (_, i) => stream(`x${i}`, 30, 30))] };
  const listed = perStream([many]).split('\n')[0];
  assert.match(listed, /s2 30\.0→28\.5 \(!\) \(19 other streams within 1 s\)$/);
  assert.doesNotMatch(listed, /x0 /);
});
