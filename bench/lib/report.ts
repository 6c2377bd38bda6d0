/** The markdown-ish tables the bench prints. */
import { LOSS_TOLERANCE_S, type RunResult } from './run.js';

const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);

/** The main table: one row per (N, server). */
export function resultTable(results: RunResult[]): string {
  const head = [
    'server',
    'N',
    'CPU % (1 core)',
    'CPU %/stream',
    'CPU by process',
    'RSS MB',
    'PSS MB',
    'PSS MB/stream',
    'pushers CPU %',
    'other load %',
    'pushed s (min)',
    'recorded s (min)',
    'worst rec − pushed s',
    'losing',
    'behind',
    'lossless',
  ];
  const rows = results.map((r) => [
    r.target,
    String(r.n),
    f1(r.serverCpu),
    f2(r.serverCpu / r.n),
    Object.entries(r.serverCpuByComm)
      .filter(([, v]) => v >= 0.05)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${f1(v)}`)
      .join(', ') || '—',
    f1(r.memory.rssMb),
    r.memory.pssMb === undefined ? 'n/a' : f1(r.memory.pssMb),
    r.memory.pssMb === undefined ? 'n/a' : f1(r.memory.pssMb / r.n),
    f1(r.pushersCpu),
    f1(r.otherCpu),
    f1(Math.min(...r.streams.map((s) => s.pushed))),
    f1(Math.min(...r.streams.map((s) => s.recorded))),
    f2(r.worstDiff),
    `${r.losing}/${r.n}`,
    `${r.behind}/${r.n}`,
    r.ok ? 'yes' : '**NO**',
  ]);
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}

/** Per stream pushed → recorded seconds; for large N only the streams that lost or fell behind. */
export function perStream(results: RunResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const bad = (s: RunResult['streams'][number]) => s.recorded < s.pushed - LOSS_TOLERANCE_S || s.pushed < s.realtime - LOSS_TOLERANCE_S || !!s.pusherError;
    const shown = r.n <= 16 ? r.streams : r.streams.filter(bad);
    const items = shown.map((s) => {
      const extra = [s.files !== 1 ? `${s.files} files` : '', s.pushed < s.realtime - LOSS_TOLERANCE_S ? `behind: ${f1(s.realtime)} s real time` : '', s.pusherError ?? '']
        .filter(Boolean)
        .join('; ');
      return `${s.streamId} ${f1(s.pushed)}→${f1(s.recorded)}${bad(s) ? ' (!)' : ''}${extra ? ` [${extra}]` : ''}`;
    });
    const rest = r.n > 16 ? ` (${r.n - shown.length} other streams within ${LOSS_TOLERANCE_S} s)` : '';
    lines.push(`- ${r.target}, N=${r.n}: ${items.join(', ') || 'none lost'}${rest}`);
    lines.push(`  - also wrote: ${r.outputs}`);
    const mem = Object.entries(r.memory.byComm).sort((a, b) => b[1] - a[1]);
    lines.push(`  - peak memory (PSS) by process: ${mem.map(([k, v]) => `${k} ${f1(v)} MB`).join(', ') || 'n/a'} (${r.memory.processes} processes)`);
    const counts = new Map<string, number>();
    for (const p of r.problems) counts.set(p, (counts.get(p) ?? 0) + 1);
    const problems = [...counts].slice(0, 5).map(([m, c]) => (c > 1 ? `${m} (×${c})` : m));
    if (problems.length) lines.push(`  - server logged: ${problems.join(' | ')}`);
  }
  return lines.join('\n');
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}
