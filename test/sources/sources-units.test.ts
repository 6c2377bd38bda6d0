/**
 * Sources, the pure parts: which URLs are sources, how they are
 * masked and redacted, the sealed store (another key or another row cannot
 * open a URL), the FLV splitter at every chunk boundary, the SRT handshake's
 * stream id, and the trust of source publish requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { maskUrl, sourceKind, sourceUrlProblem } from '../../src/config/source-url.js';
import { redact } from '../../src/sources/pull-session.js';
import { SourceStore } from '../../src/sources/source-store.js';
import { FlvReader } from '../../src/sources/flv-reader.js';
import { handshakeOf } from '../../src/sources/srt-gate.js';
import { listenerUrl } from '../../src/sources/source-runner.js';
import { sourceAuthorizer } from '../../src/sources/source-authorizer.js';
import type { PublishRequest } from '../../src/ingest/types.js';

test('source URLs: kinds, and why the others are refused', () => {
  assert.equal(sourceKind('rtsp://u:p@cam/x'), 'rtsp');
  assert.equal(sourceKind('rtsps://cam/x'), 'rtsp');
  assert.equal(sourceKind('rtmps://h/app/key'), 'rtmp');
  assert.equal(sourceKind('https://h/a/b.m3u8?token=1'), 'hls');
  assert.equal(sourceKind('srt://h:9000'), 'srt-caller');
  assert.equal(sourceKind('srt://:9000?mode=listener'), 'srt-listener');
  for (const bad of ['', 'cam', 'ftp://h/x', 'file:///etc/passwd', 'http://h/x.mp4', 'srt://h', 'srt://:9000', 'srt://:9000?mode=rendezvous', 'javascript:alert(1)']) {
    assert.ok(sourceUrlProblem(bad), `refused: ${bad}`);
  }
  assert.match(sourceUrlProblem('srt://:9000?mode=listener&passphrase=short')!, /10 to 79/);
  assert.equal(sourceUrlProblem('srt://:9000?mode=listener&passphrase=long-enough-1'), null);
});

test('masking and redaction: passwords, passphrases and signatures never shown', () => {
  assert.equal(maskUrl('rtsp://admin:Secr3t@10.0.0.5:554/s1'), 'rtsp://admin:***@10.0.0.5:554/s1');
  assert.equal(maskUrl('srt://:9000?mode=listener&streamid=a&passphrase=long-enough-1'), 'srt://:9000?mode=listener&streamid=a&passphrase=***');
  const signed = 'https://b.s3.amazonaws.com/k.mp4?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123&X-Amz-Expires=600';
  const m = maskUrl(signed);
  assert.ok(!m.includes('abc123') && !m.includes('AKIA'), m);
  assert.match(m, /X-Amz-Expires=600/);
  const line = "[rtsp @ 0x1] rtsp://admin:Secr3t@10.0.0.5/s1: 401 | srt://h:1?passphrase=long-enough-1&x=1 | https://h/k?X-Amz-Signature=abc123";
  const r = redact(line);
  for (const secret of ['Secr3t', 'long-enough-1', 'abc123']) assert.ok(!r.includes(secret), r);
});

test('the sealed store: no URL in clear, another key or another row opens nothing, the file is private', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-src-'));
  try {
    const key = randomBytes(32);
    const store = new SourceStore(dir, key);
    const url = 'rtsp://admin:Secr3t@10.0.0.5/s1';
    store.save([{ app: 'cams', streamId: 'door', url, enabled: true, onDemand: false, rtspTransport: 'tcp' }]);
    const file = path.join(dir, 'sources.json');
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('Secr3t') && !text.includes('10.0.0.5'), text);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(store.list()[0].url, url);
    assert.equal(new SourceStore(dir, randomBytes(32)).list()[0].url, null, 'another server key');
    // A sealed URL copied to another row does not open (the app and stream id are authenticated data).
    const rows = JSON.parse(text);
    rows.push({ ...rows[0], streamId: 'other' });
    writeFileSync(file, JSON.stringify(rows));
    const listed = store.list();
    assert.equal(listed.find((s) => s.streamId === 'door')!.url, url);
    assert.equal(listed.find((s) => s.streamId === 'other')!.url, null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the FLV splitter gives the same tags whatever the chunk boundaries, and refuses what is not FLV', () => {
  const tag = (type: number, ts: number, data: Buffer) => {
    const h = Buffer.alloc(11);
    h[0] = type;
    h.writeUIntBE(data.length, 1, 3);
    h.writeUIntBE(ts & 0xffffff, 4, 3);
    h[7] = (ts >>> 24) & 0xff;
    const prev = Buffer.alloc(4);
    prev.writeUInt32BE(11 + data.length);
    return Buffer.concat([h, data, prev]);
  };
  const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
  const tags = [
    [18, 0, Buffer.from('meta')],
    [9, 0, randomBytes(300)],
    [8, 23, randomBytes(7)],
    [9, 0x01234567, randomBytes(1)],
  ] as const;
  const stream = Buffer.concat([header, ...tags.map(([t, ts, d]) => tag(t, ts, d))]);
  for (const size of [1, 2, 5, 13, 64, stream.length]) {
    const got: Array<[number, number, Buffer]> = [];
    const r = new FlvReader((t, ts, d) => got.push([t, ts, d]));
    for (let i = 0; i < stream.length; i += size) r.push(stream.subarray(i, i + size));
    assert.deepEqual(got, tags.map(([t, ts, d]) => [t, ts, d]), `chunks of ${size}`);
  }
  assert.throws(() => new FlvReader(() => undefined).push(Buffer.from('<html><body>not a video</body>')), /not an FLV/);
});

test('the SRT handshake: the stream id of a conclusion, nothing for data packets', () => {
  const sid = 'cam-7/live';
  const padded = Buffer.alloc(Math.ceil(sid.length / 4) * 4);
  padded.write(sid);
  for (let i = 0; i < padded.length; i += 4) padded.subarray(i, i + 4).reverse();
  const pkt = Buffer.alloc(64 + 4 + padded.length);
  pkt.writeUInt16BE(0x8000, 0); // control, handshake
  pkt.writeUInt32BE(5, 16); // version 5
  pkt.writeUInt32BE(0xffffffff, 36); // conclusion
  pkt.writeUInt16BE(5, 64); // SID
  pkt.writeUInt16BE(padded.length / 4, 66);
  padded.copy(pkt, 68);
  assert.deepEqual(handshakeOf(pkt), { type: 0xffffffff, sid });
  const data = Buffer.from(pkt);
  data[0] = 0x00; // a data packet
  assert.equal(handshakeOf(data), null);
  assert.equal(handshakeOf(Buffer.alloc(10)), null);
  const truncated = pkt.subarray(0, 70); // an extension that claims more than the packet holds
  const t = handshakeOf(truncated)!;
  assert.equal(t.type, 0xffffffff);
  assert.notEqual(t.sid, sid, 'a cut stream id is not the stream id');
});

test('listener URLs bind the server address and keep SRT options but streamid', () => {
  assert.equal(listenerUrl('srt://:9000?mode=listener&streamid=a&passphrase=long-enough-1&latency=200000', '127.0.0.1'), 'srt://127.0.0.1:9000?passphrase=long-enough-1&latency=200000&mode=listener');
  assert.equal(listenerUrl('srt://:9000?mode=listener', '127.0.0.1', 41000), 'srt://127.0.0.1:41000?mode=listener');
});

test('only the source runner\'s own request objects skip the credential check', async () => {
  const trusted = new WeakSet<PublishRequest>();
  const calls: string[] = [];
  const auth = sourceAuthorizer({
    trusted,
    basic: { authorize: () => (calls.push('basic'), { ok: true }) },
    full: { authorize: () => (calls.push('full'), { ok: false, code: 'unauthorized', reason: 'no key' }) },
  });
  const mine: PublishRequest = { app: 'a', streamId: 's', protocol: 'rtsp', remoteAddress: 'rtsp://cam' };
  trusted.add(mine);
  assert.deepEqual(await auth.authorize(mine), { ok: true });
  // The same fields from anybody else: a different object, the full check.
  assert.equal((await auth.authorize({ ...mine })).ok, false);
  assert.deepEqual(calls, ['basic', 'full']);
});
