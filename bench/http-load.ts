/**
 * A keep-alive HTTP load generator for bench/forward.ts: at full speed when
 * `wrk` is not installed, and at a fixed rate (which wrk cannot do) for the
 * latency figure. Runs in its own process so it does not share an event loop
 * with the server it measures. Prints one JSON line: requests/s, p50 and p99 (ms).
 *
 * At a fixed rate the schedule is open-loop: request i is due at start + i/rate
 * and its latency counts from then, so a server that stalls is charged for the
 * requests that waited behind the stall (no coordinated omission).
 *
 * The first `warm-up` seconds of a fixed-rate run (default 1) are sent on the
 * same schedule and not counted: they open the connections and warm this
 * generator's own JIT, which otherwise lands in the tail of a 3 s round as
 * milliseconds the server did not spend (seen: the bare node server's p99 at
 * 5.7 ms on an idle machine).
 *
 * Usage: node --import tsx bench/http-load.ts <url> <connections> <seconds> [rate/s] [expected status] [warm-up s]
 */
import http from 'node:http';

const [url, connArg, secArg, rateArg, statusArg, warmArg] = process.argv.slice(2);
const connections = Number(connArg ?? 50);
const seconds = Number(secArg ?? 10);
const rate = Number(rateArg ?? 0);
const expected = Number(statusArg ?? 302);
const warmup = rate > 0 ? Number(warmArg ?? 1) : 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies: number[] = [];
let errors = 0;
/** Requests answered during the warm-up (the server's CPU is measured over them too). */
let warmed = 0;
const started = performance.now();
/** Requests due from here on are counted. */
const counted = started + warmup * 1000;
const end = counted + seconds * 1000;

/** One request; its latency counts from `due` (ms, performance.now()). */
function one(due: number): Promise<void> {
  const count = due >= counted;
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (!count) {
          warmed++;
          return resolve();
        }
        latencies.push(performance.now() - due);
        if (res.statusCode !== expected) errors++;
        resolve();
      });
    });
    req.on('error', () => {
      if (count) errors++;
      resolve();
    });
  });
}

async function closedLoop(): Promise<void> {
  while (performance.now() < end) await one(performance.now());
}

async function openLoop(): Promise<void> {
  const pending: Promise<void>[] = [];
  let sent = 0;
  for (;;) {
    const now = performance.now();
    if (now >= end) break;
    // Everything due by now goes out; the agent queues what finds no free connection (that wait is counted).
    for (; started + (sent * 1000) / rate <= now; sent++) pending.push(one(started + (sent * 1000) / rate));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
}

await (rate > 0 ? openLoop() : Promise.all(Array.from({ length: connections }, closedLoop)));
const elapsed = (performance.now() - counted) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
process.stdout.write(`${JSON.stringify({ requests: latencies.length, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), errors, warmupRequests: warmed })}\n`);
agent.destroy();
