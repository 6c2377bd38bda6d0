/**
 * Any moment plays back by wall-clock time: a recording and its
 * parts are placed in wall-clock time from the arrival of the packet at the
 * recorder's time 0 (`mediaStartedAt`), not from the moment the recorder
 * happened to start:
 *   - a recording restarted mid-stream (its ffmpeg killed) starts with the
 *     cached GOP, whose keyframe arrived seconds before the restart: its parts
 *     start at that keyframe's arrival, so the two recordings meet in time and
 *     the list route shows one span, no false gap;
 *   - an audio-only stream is recorded from its first packet, though the
 *     recorder waits 2.5 s to know there is no video: the recording starts at
 *     that first packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, recorderPidWrapper } from '../helpers/media.js';
import { adminEnv, login } from '../helpers/api.js';

interface Listed {
  recordingId: string;
  startedAt: string;
  durationSeconds: number;
  parts: Array<{ part: number; startedAt: string; endedAt: string; durationSeconds: number; offsetSeconds?: number }>;
}

test('a recording restarted mid-stream is placed at its first keyframe\'s arrival: no false gap', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-anchor-'));
  const ffmpeg = recorderPidWrapper(dir);
  // A 10 s GOP: a recorder restarted 7 s into a GOP starts 7 s (plus its backoff) before the restart.
  const src = await fixture({ seconds: 40, width: 640, height: 360, videoKbps: 800, gop: 300 });
  const server = await startServer({
    events: true,
    env: adminEnv(),
    config: { server: { ffmpegPath: ffmpeg.path }, applications: [{ name: 'live', recordSegmentSeconds: 5, previews: { periodSeconds: 5 } }] },
  });
  try {
    const pushedAt = Date.now();
    const p = push(server.rtmpUrl('live', 'cam'), src);
    await server.events.waitFor('recording.started', () => true, 15_000, 'recording started');
    // 17 s in: media ≈ 16.7 s, the last keyframe (10 s) arrived ≈ 7 s ago.
    await new Promise((r) => setTimeout(r, pushedAt + 17_000 - Date.now()));
    const first = ffmpeg.recorderPids()[0];
    process.kill(first, 'SIGKILL');
    const killedAt = Date.now();
    await server.waitForLog((l) => l.msg === 'restarting the recording', 10_000, 'the recording restarted');
    assert.equal((await p.done).code, 0);
    await server.events.waitFor('recording.completed', () => server.events.all('recording.completed').length >= 2, 60_000, 'both recordings completed');

    const api = await login(server);
    const body = (await api.get('/api/v1/recordings?app=live')).json as { recordings: Listed[] };
    const [r1, r2] = [...body.recordings].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    assert.ok(r1 && r2, `two recordings: ${JSON.stringify(body.recordings.map((r) => r.startedAt))}`);
    const t1 = Date.parse(r1.startedAt);
    const t2 = Date.parse(r2.startedAt);
    console.log(`recording 1 at ${r1.startedAt} (${r1.durationSeconds} s), recording 2 at ${r2.startedAt}: ${(t2 - t1) / 1000} s later; killed ${(killedAt - t1) / 1000} s after recording 1 began`);
    // Recording 2 starts with the keyframe at media 10 s, which arrived 10 s after recording 1's first packet.
    assert.ok(Math.abs((t2 - t1) / 1000 - 10) <= 0.8, `recording 2 starts ${(t2 - t1) / 1000} s after recording 1 (its first keyframe arrived 10 s after)`);
    assert.ok(t2 < killedAt - 5000, 'recording 2 is placed before the restart, at its first packet');
    // Each part is placed from that anchor: part 1 at the recording's start, the next one where it ends.
    for (const r of [r1, r2]) {
      const parts = [...r.parts].sort((a, b) => a.part - b.part);
      assert.equal(parts[0].startedAt, r.startedAt, 'part 1 starts with its recording');
      for (let i = 1; i < parts.length; i++) assert.ok(Math.abs(Date.parse(parts[i].startedAt) - Date.parse(parts[i - 1].endedAt)) <= 50, 'parts touch');
    }
    // Recorded time is continuous across the restart (the recordings overlap by the replayed GOP): one span.
    const list = (await (await fetch(`${server.httpUrl}/live/playback/cam/list`)).json()) as { spans: Array<{ start: string; duration: number }> };
    assert.equal(list.spans.length, 1, `one span, no gap: ${JSON.stringify(list.spans)}`);
    assert.equal(list.spans[0].start, r1.startedAt);
  } finally {
    await server.stop();
    server.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an audio-only recording starts at its first packet, not when the recorder knew there was no video', { timeout: 120_000 }, async () => {
  const src = await fixture({ seconds: 12, video: false });
  const server = await startServer({ events: true, env: adminEnv(), config: { applications: [{ name: 'live', recordSegmentSeconds: 5 }] } });
  try {
    const pushedAt = Date.now();
    const p = push(server.rtmpUrl('live', 'radio'), src);
    assert.equal((await p.done).code, 0);
    await server.events.waitFor('recording.completed', () => true, 60_000, 'recording completed');
    const api = await login(server);
    const list = await api.get('/api/v1/recordings?app=live');
    assert.equal(list.status, 200, `the list answers (an answer that disagrees with its schema is a 500): ${list.text}`);
    const [r] = (list.json as { recordings: Array<Listed & { video: unknown; audio: unknown }> }).recordings;
    assert.equal(r.video, null, 'no video: null, as the OpenAPI document says');
    assert.ok(r.audio, 'its audio is described');
    const late = (Date.parse(r.startedAt) - pushedAt) / 1000;
    console.log(`audio-only recording starts ${late} s after the push began; ${r.durationSeconds} s long`);
    assert.ok(late >= -0.5 && late <= 1.2, `the recording starts ${late} s after the push began (the recorder waited 2.5 s for video)`);
    assert.equal(r.parts[0].startedAt, r.startedAt);
  } finally {
    await server.stop();
    server.cleanup();
  }
});
