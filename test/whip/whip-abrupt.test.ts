/**
 * A browser killed mid-stream (SIGKILL, no goodbye of any kind) still
 * leaves a finalized recording — the session is found dead by its silence;
 * while it was live, its stream id was refused to RTMP and to a second WHIP
 * publisher, its resource took trickle candidates and refused a wrong
 * credential. And SIGTERM while a browser publishes finalizes the recording.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push, ffprobe, topLevelBoxes } from '../helpers/media.js';
import { openPublisher, startPublishing, browserLikeOffer, decodeErrors } from '../helpers/whip.js';

test('a browser killed mid-stream leaves a finalized recording; its live stream id was refused to others', async (t) => {
  const server = await startServer({ events: true });
  const publisher = await openPublisher(`${server.httpUrl}/publish.html?app=live&id=gone`);
  try {
    await publisher.page.fill('#token', 'sesame');
    const connectedAt = await startPublishing(publisher.page);
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'gone', 15_000, 'recording started');
    const location = String(await publisher.page.evaluate('document.body.dataset.location'));
    const resource = new URL(location);
    assert.match(resource.pathname, /^\/live\/whip\/gone\/[0-9a-f-]{36}$/);

    // The id is taken, whatever the protocol.
    const src = await fixture({ seconds: 4 });
    const rtmp = await push(server.rtmpUrl('live', 'gone'), src).done;
    assert.notEqual(rtmp.code, 0, 'RTMP publish on a live WHIP stream id is refused');
    const refusal = await server.events.waitFor('stream.refused', (e) => e.protocol === 'rtmp' && e.streamId === 'gone', 10_000, 'rtmp refusal');
    assert.equal(refusal.code, 'stream_busy');
    const second = await fetch(`${server.httpUrl}/live/whip/gone`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: browserLikeOffer() });
    assert.equal(second.status, 409);
    assert.match(((await second.json()) as { error: { message: string } }).error.message, /already being published \(whip from/);

    // The session resource: trickle candidates, no ICE restart, not ended by someone else's credential.
    const frag = 'a=ice-ufrag:Zz9y\r\na=ice-pwd:0123456789abcdefghijklmn\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n';
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(location, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', Authorization: 'Bearer sesame', ...headers }, body });
    assert.equal((await patch('a=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n')).status, 204, 'trickled candidate accepted');
    assert.equal((await patch(frag)).status, 422, 'new ICE credentials = ICE restart, not supported');
    assert.equal((await patch('a=end-of-candidates\r\n', { 'If-Match': '"stale"' })).status, 412);
    const wrong = await fetch(location, { method: 'DELETE', headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401, 'DELETE with another credential is refused');
    assert.equal((await fetch(location, { method: 'DELETE' })).status, 401, 'and without one');

    await new Promise((r) => setTimeout(r, Math.max(0, connectedAt + 6000 - Date.now())));
    const killedAt = Date.now();
    publisher.kill();
    const ended = await server.events.waitFor('stream.ended', (e) => e.protocol === 'whip' && e.app === 'live' && e.streamId === 'gone', 30_000, 'session ended');
    t.diagnostic(`session ended ${(Date.parse(ended.endedAt) - killedAt) / 1000}s after the kill: ${ended.reason}`);
    assert.match(ended.reason, /publisher silent|ice\/dtls failed|peer connection closed/);
    const done = await server.events.waitFor('recording.completed', (e) => e.name === started.name, 30_000, 'recording completed');
    assert.equal(done.protocol, 'whip');

    const mp4 = path.join(server.dataDir, 'live', 'streams', `${started.name}.mp4`);
    const probed = await ffprobe(mp4);
    const live = (killedAt - connectedAt) / 1000;
    const leftOut = server.logs.find((l) => l.msg === 'unfinished last video frame left out');
    t.diagnostic(`published ${live}s until the kill, recorded ${probed.duration}s; unfinished last frame: ${leftOut ? `${leftOut.packets} packets left out` : 'none'}`);
    assert.ok(Math.abs(probed.duration - live) < 1.5, `recording lasts ${probed.duration}s, the browser published ${live}s`);
    assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
    const boxes = topLevelBoxes(mp4);
    assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), boxes.join(','));
    assert.equal(await decodeErrors(mp4), '', 'mp4 decodes without errors');
    assert.deepEqual(readdirSync(path.join(server.dataDir, '.work')), [], 'no work dir left');
    assert.ok(!server.logs.some((l) => l.msg === 'signalling ffmpeg'), 'ffmpeg ended on RTCP BYE, no signal needed');
  } finally {
    await publisher.close();
    await server.stop();
    server.cleanup();
  }
});

test('SIGTERM while a browser publishes finalizes the recording and exits cleanly', async () => {
  const server = await startServer({ events: true });
  const publisher = await openPublisher(`${server.httpUrl}/publish.html?app=live&id=term`);
  try {
    await startPublishing(publisher.page);
    const started = await server.events.waitFor('recording.started', (e) => e.streamId === 'term', 15_000, 'recording started');
    await new Promise((r) => setTimeout(r, 4000));
    server.proc.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, 'clean exit');
    assert.ok(server.logs.some((l) => l.msg === 'whip session ended' && l.reason === 'shutdown'), 'session ended by the shutdown');
    assert.ok(server.logs.some((l) => l.msg === 'recording completed' && l.name === started.name), 'recording completed before exit');
    const probed = await ffprobe(path.join(server.dataDir, 'live', 'streams', `${started.name}.mp4`));
    assert.ok(probed.duration >= 3, `recording lasts ${probed.duration}s`);
    assert.deepEqual(readdirSync(path.join(server.dataDir, '.work')), []);
  } finally {
    await publisher.close();
    await server.stop();
    server.cleanup();
  }
});
