/**
 * When a publisher counts as behind real time because of our reads: its media
 * time falls behind the wall clock past its own baseline while data waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BEHIND_MS, PublisherLag } from '../../src/ingest/rtmp/publisher-lag.js';

const BIG = 90 * 1024;

test('a real-time publisher is never behind; one whose media stalls against the clock is', () => {
  const l = new PublisherLag();
  let now = 1_000_000;
  for (let ms = 0; ms <= 10_000; ms += 150) {
    l.media(ms, now + ms + (ms % 450)); // jitter of up to 300 ms
    assert.equal(l.behind(now + ms + 150, 60 * 1024), false, `at ${ms} ms`);
  }
  // Now only 100 ms of media arrive per 300 ms of wall time (the window caps the reads).
  now += 10_150;
  let media = 10_000;
  let behindAt = -1;
  for (let i = 1; i <= 40 && behindAt < 0; i++) {
    media += 100;
    l.media(media, now + i * 300);
    if (l.behind(now + i * 300, BIG)) behindAt = i;
  }
  assert.ok(behindAt > 0, 'it falls behind');
  assert.ok(behindAt * 200 >= BEHIND_MS && behindAt * 200 <= BEHIND_MS + 600, `behind after ${behindAt * 200} ms of lag`);
});

test('a read that finds little waiting re-bases the lag: clock drift or a network stall is not our backlog', () => {
  const l = new PublisherLag();
  l.media(0, 0);
  assert.equal(l.behind(0, BIG), false);
  l.media(1000, 3000); // 2 s behind the clock
  assert.equal(l.behind(3000, BIG), true);
  assert.equal(l.behind(3025, 4 * 1024), false, 'nothing waiting: the lag is the publisher’s own');
  l.media(1150, 3175);
  assert.equal(l.behind(3175, BIG), false, 'measured from the new baseline');
});

test('a timestamp that jumps back (an encoder reset) starts a new reference', () => {
  const l = new PublisherLag();
  l.media(600_000, 0);
  l.media(0, 100); // restarted at 0
  assert.equal(l.behind(200, BIG), false);
  l.media(5000, 5200);
  assert.equal(l.behind(5200, BIG), false);
});

test('how far media ran ahead of the clock lately: a file pushed faster than real time, not a live one', () => {
  const l = new PublisherLag();
  assert.equal(l.aheadMs(5000), 0, 'no media yet');
  for (let ms = 0; ms <= 8000; ms += 40) l.media(ms, 10_000 + ms + (ms % 200)); // live, with 160 ms of jitter
  assert.ok(Math.abs(l.aheadMs(18_000)) <= 200, `live: ${l.aheadMs(18_000)} ms`);
  for (let ms = 8040; ms <= 40_000; ms += 40) l.media(ms, 18_000 + (ms - 8000) / 8); // 8× real time
  const ahead = l.aheadMs(22_000);
  assert.ok(ahead >= 7 * 1000 && ahead <= 7 * 2000, `8× real time: ${ahead} ms ahead over the last 1–2 s`);
  // Then real time again (a backlog drained): within two seconds it is no longer ahead.
  for (let ms = 40_040; ms <= 42_000; ms += 40) l.media(ms, 22_000 + (ms - 40_000));
  assert.ok(Math.abs(l.aheadMs(24_000)) <= 50, `caught up: ${l.aheadMs(24_000)} ms`);
  l.media(100, 24_100); // the encoder reset its clock: a new reference
  assert.equal(l.aheadMs(24_100), 0);
});
