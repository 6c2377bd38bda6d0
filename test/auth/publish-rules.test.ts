/**
 * Stream id rules, unknown apps and a second publisher on a live id
 * are refused with a logged reason, without disturbing the live publisher; two
 * pushes in a row give two recordings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe } from '../helpers/media.js';

let server: TestServer;
before(async () => {
  server = await startServer({ events: true });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

function refusal(streamId: string) {
  return server.events.waitFor('stream.refused', (e) => e.streamId === streamId, 15_000, `refusal of ${streamId}`);
}

test('two pushes in a row to the same stream id give two recordings', async () => {
  const src = await fixture({ seconds: 4 });
  const names: string[] = [];
  for (let i = 0; i < 2; i++) {
    const r = await push(server.rtmpUrl('live', 'twice'), src).done;
    assert.equal(r.code, 0, r.stderr);
    const done = await server.events.waitFor('recording.completed', (e) => e.streamId === 'twice' && !names.includes(String(e.name)), 20_000, 'recording completed');
    names.push(String(done.name));
  }
  assert.notEqual(names[0], names[1]);
  for (const n of names) {
    const probed = await ffprobe(path.join(server.dataDir, 'live', 'streams', `${n}.mp4`));
    assert.ok(Math.abs(probed.duration - 4) < 0.5, `${n} lasts ${probed.duration}s`);
  }
});

test('bad stream ids and unknown apps are refused with a reason', async () => {
  const src = await fixture({ seconds: 4 });
  const long = 'x'.repeat(129);
  const cases = [
    { url: server.rtmpUrl('live', 'bad!id'), id: 'bad!id', code: 'bad_stream_id' },
    { url: server.rtmpUrl('live', long), id: long, code: 'bad_stream_id' },
    { url: server.rtmpUrl('live', '.hidden'), id: '.hidden', code: 'bad_stream_id' },
    { url: server.rtmpUrl('nope', 'cam'), id: 'cam', code: 'unknown_app' },
  ];
  for (const c of cases) {
    const r = await push(c.url, src).done;
    assert.notEqual(r.code, 0, `${c.id} must not be accepted`);
    const line = await refusal(c.id);
    assert.equal(line.code, c.code);
    assert.equal(typeof line.reason, 'string');
  }
  assert.deepEqual(server.events.all('stream.started', (e) => cases.some((c) => c.id === e.streamId)), []);
});

test('a second publisher on a live stream id is refused and the first is not disturbed', async () => {
  const src = await fixture({ seconds: 12 });
  const first = push(server.rtmpUrl('live', 'solo'), src);
  const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'solo', 15_000, 'recording started');
  await new Promise((r) => setTimeout(r, 2000));
  const second = await push(server.rtmpUrl('live', 'solo'), src, { seconds: 3 }).done;
  assert.notEqual(second.code, 0);
  const line = await refusal('solo');
  assert.equal(line.code, 'stream_busy');
  const r = await first.done;
  assert.equal(r.code, 0, `first publisher finished normally: ${r.stderr}`);
  await server.events.waitFor('recording.completed', (e) => e.name === started.name, 20_000, 'recording completed');
  const mp4 = path.join(server.dataDir, 'live', 'streams', `${started.name}.mp4`);
  assert.ok(existsSync(mp4));
  const probed = await ffprobe(mp4);
  assert.ok(Math.abs(probed.duration - 12) < 0.5, `first recording is complete: ${probed.duration}s`);
  assert.equal(server.events.all('recording.started', (e) => e.streamId === 'solo').length, 1, 'only one recording for the stream');
});
