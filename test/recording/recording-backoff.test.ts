/**
 * A recorder backing off after ffmpeg failures does not hold up shutdown.
 * ffmpeg fails at once for every recording (a wrapper that refuses the live
 * input), so the stream loop backs off 1, 2, 4, 8 s …; a SIGTERM during the
 * 8 s backoff ends the sleep at once: a clean exit (code 0) well before
 * `shutdownTimeoutSeconds`, not a forced one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../helpers/server.js';
import { fixture } from '../helpers/fixtures.js';
import { push } from '../helpers/media.js';

test('SIGTERM during a recorder backoff exits at once and cleanly', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bc-backoff-'));
  const wrapper = path.join(dir, 'ffmpeg');
  writeFileSync(wrapper, '#!/bin/sh\nfor a in "$@"; do [ "$a" = "pipe:0" ] && { echo "injected failure" >&2; exit 1; }; done\nexec ffmpeg "$@"\n');
  chmodSync(wrapper, 0o755);
  const src = await fixture({ seconds: 40, width: 640, height: 360, videoKbps: 1000 });
  const server = await startServer({ config: { server: { ffmpegPath: wrapper, shutdownTimeoutSeconds: 8 }, applications: [{ name: 'live' }] } });
  const p = push(server.rtmpUrl('live', 'cam'), src);
  try {
    await server.waitForLog((l) => l.msg === 'restarting the recording' && Number(l.retryInMs) >= 8000, 40_000, 'an 8 s backoff');
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await server.exited;
    const took = (Date.now() - t0) / 1000;
    assert.equal(exit.code, 0, 'clean exit');
    assert.ok(took < 4, `exited in ${took} s`);
  } finally {
    await p.stop('SIGKILL');
    await server.stop();
    server.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
