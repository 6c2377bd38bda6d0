/**
 * A keep-alive HTTP load generator for bench/forward.ts when `wrk` is not
 * installed. Runs in its own process so it does not share an event loop with
 * the server it measures. Prints one JSON line: requests/s, p50 and p99 (ms).
 * Usage: node --import tsx bench/http-load.ts <url> <connections> <seconds>
 */
import http from 'node:http';

const [url, connArg, secArg] = process.argv.slice(2);
const connections = Number(connArg ?? 50);
const seconds = Number(secArg ?? 10);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies: number[] = [];
let errors = 0;
const end = Date.now() + seconds * 1000;

function one(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.statusCode !== 302) errors++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
  });
}

async function loop(): Promise<void> {
  while (Date.now() < end) await one();
}

const started = Date.now();
await Promise.all(Array.from({ length: connections }, loop));
const elapsed = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
process.stdout.write(`${JSON.stringify({ requests: latencies.length, rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), errors })}\n`);
agent.destroy();
