/**
 * Hostile input: the RTMP listener fuzzed for a bounded time
 * (FUZZ_SECONDS, default 40) with a seeded schedule (SEED, printed first, to
 * replay a failure: `SEED=1234 npm test -- hostile-rtmp`): pure random bytes,
 * mutations of a real captured publish session (handshake, commands and
 * media), and hand-made hostile chunk streams (huge declared lengths on many
 * chunk streams, chunk size 0 or huge, deep AMF nesting …), while a
 * legitimate publisher streams. The server never crashes, its memory stays
 * bounded, the legitimate recording is complete, and no secret reaches the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { decodesCleanly, ffprobe, push } from '../helpers/media.js';
import { capturePublish, hostileSessions, mutate, prng, randomBytes, replaceSameLength, sendSession } from '../helpers/rtmp-fuzz.js';
import { assertHealthy } from '../helpers/fault.js';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 1e9));
const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 40);
const PARALLEL = 4;
const TOKEN = 'tok-7c1e9a5b2f4d8e60';
const MiB = 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

test(`RTMP fuzzing for ${FUZZ_SECONDS} s (seed ${SEED}): no crash, bounded memory, the legitimate recording complete`, { timeout: (FUZZ_SECONDS + 120) * 1000 }, async (t) => {
  t.diagnostic(`RTMP fuzz seed ${SEED}: replay with SEED=${SEED} npm test -- hostile-rtmp`);
  process.stderr.write(`hostile-rtmp: seed ${SEED} (replay: SEED=${SEED} npm test -- hostile-rtmp)\n`);
  const rand = prng(SEED);
  const legitSrc = await fixture({ seconds: FUZZ_SECONDS + 10, width: 426, height: 240, fps: 25, videoKbps: 300 });
  const captureSrc = await fixture({ seconds: 4, width: 426, height: 240, fps: 25, videoKbps: 300 });
  const server = await startServer({ events: true, env: { AWS_ACCESS_KEY_ID: 'AKIAHARDENFUZZ0000001', AWS_SECRET_ACCESS_KEY: 'fuzz/Secret+Key/never-logged-0001' } });
  try {
    const pid = server.proc.pid!;
    const capture = await capturePublish(server.rtmpPort, 'live', 'capture', captureSrc);
    assert.ok(capture.bytes.length > 50_000 && capture.afterPublish > 3073, `captured ${capture.bytes.length} bytes, publish ends at ${capture.afterPublish}`);
    // Mutations go to an unknown app (same length), so a fuzzed publish that survives is refused, not recorded.
    const base = replaceSameLength(capture.bytes, 'live', 'lxve');
    await server.events.waitFor('recording.completed', (e) => e.streamId === 'capture', 30_000, 'the captured session recorded');
    const baseline = rssOf(pid);

    const legit = push(`${server.rtmpUrl('live', 'legit')}?token=${TOKEN}`, legitSrc);
    const legitStarted = await server.events.waitFor('recording.started', (e) => e.streamId === 'legit', 20_000, 'legit recording');

    let maxRss = baseline;
    const sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, rssOf(pid));
      } catch {
        // the process is gone: asserted below
      }
    }, 250);
    const counts = { random: 0, mutated: 0, hostile: 0, closedByServer: 0 };
    const hostile = hostileSessions(capture.bytes.subarray(0, capture.afterPublish), capture.chunkSize);
    const hostileResults: string[] = [];
    // The hand-made cases first, one by one, each checked for being refused.
    for (const h of hostile) {
      const r = await sendSession(server.rtmpPort, h.bytes, rand, 1500);
      counts.hostile++;
      if (r.closedByServer) counts.closedByServer++;
      hostileResults.push(`${h.name}: ${r.closedByServer ? 'closed by the server' : 'left open'}`);
      assert.equal(server.proc.exitCode, null, `the server survived: ${h.name}`);
    }
    const deadline = Date.now() + FUZZ_SECONDS * 1000;
    // One PRNG per worker, derived from the seed: each worker's sequence of sessions replays exactly.
    const worker = async (index: number) => {
      const rand = prng(SEED + 1 + index);
      while (Date.now() < deadline) {
        const pick = rand();
        let bytes: Buffer;
        if (pick < 0.2) {
          counts.random++;
          bytes = randomBytes(rand, 1 + Math.floor(rand() * 20_000));
          if (rand() < 0.5) bytes[0] = 3;
        } else {
          counts.mutated++;
          const len = Math.min(base.length, 1600 + Math.floor(rand() * 60_000));
          bytes = mutate(base.subarray(0, len), rand, rand() < 0.8 ? 3073 : 0);
        }
        const r = await sendSession(server.rtmpPort, bytes, rand, 50 + Math.floor(rand() * 300));
        if (r.closedByServer) counts.closedByServer++;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, (_, i) => worker(i)));
    clearInterval(sampler);
    t.diagnostic(hostileResults.join('\n'));
    t.diagnostic(`${counts.random} random, ${counts.mutated} mutated and ${counts.hostile} hand-made sessions; ${counts.closedByServer} closed by the server; RSS ${Math.round(baseline / MiB)} MiB before, ${Math.round(maxRss / MiB)} MiB at most`);

    assert.equal(server.proc.exitCode, null, 'the server is still running');
    assert.ok(!server.logs.some((l) => l.level === 'fatal' || l.msg === 'uncaught exception, exiting (recordings in progress are finalized at next start)'), 'no uncaught exception');
    assert.deepEqual(server.otherOutput, [], 'nothing but JSON log lines on the output');
    assert.ok(maxRss - baseline < 200 * MiB, `memory stayed bounded: +${Math.round((maxRss - baseline) / MiB)} MiB`);
    for (const name of ['64+ chunk streams each declaring 16 MiB, before publishing', '5 chunk streams each declaring 16 MiB while publishing', '300 chunk stream ids (2- and 3-byte basic headers)', 'chunk size 0', 'chunk size 0xffffffff', 'chunk size message of 1 byte']) {
      assert.ok(hostileResults.includes(`${name}: closed by the server`), `refused: ${name}`);
    }
    await assertHealthy(server);

    // The legitimate publisher was not disturbed: complete recording.
    const done = await legit.done;
    assert.equal(done.code, 0, `the legitimate publisher ran to its end: ${done.stderr}`);
    const name = String(legitStarted.name);
    const completed = await server.events.waitFor('recording.completed', (e) => e.name === name, 30_000, 'legit recording completed');
    const src = await ffprobe(legitSrc);
    assert.ok(Math.abs(Number(completed.durationSeconds) - src.duration) < 0.5, `the legitimate recording is complete (${completed.durationSeconds} s of ${src.duration} s)`);
    assert.ok(await decodesCleanly(path.join(server.dataDir, 'live', 'streams', `${name}.mp4`)), 'and decodes cleanly');

    const text = server.logs.map((l) => JSON.stringify(l)).join('\n');
    for (const secret of [TOKEN, 'fuzz/Secret+Key/never-logged-0001', 'AKIAHARDENFUZZ0000001']) assert.ok(!text.includes(secret), `no secret in the log (${secret.slice(0, 6)}…)`);
  } finally {
    await server.stop();
    server.cleanup();
  }
});
