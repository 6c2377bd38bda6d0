import { startServer } from './helpers/server.js';
import { fixture } from './helpers/fixtures.js';
import { capturePublish, mutate, prng, randomBytes, replaceSameLength, sendSession } from './helpers/rtmp-fuzz.js';
const server = await startServer({});
const src = await fixture({ seconds: 4, width: 426, height: 240, fps: 25, videoKbps: 300 });
const cap = await capturePublish(server.rtmpPort, 'live', 'capture', src);
const base = replaceSameLength(cap.bytes, 'live', 'lxve');
const mode = process.env.MODE ?? 'all';
const t = setInterval(async () => { const h = await (await fetch(`${server.httpUrl}/healthz`)).json(); console.log(JSON.stringify(h.memory)); }, 3000);
const end = Date.now() + 30_000;
await Promise.all([0,1,2,3].map(async (w) => { const rand = prng(7 + w); while (Date.now() < end) {
  let bytes: Buffer;
  if (mode === 'random' || (mode === 'all' && rand() < 0.2)) { bytes = randomBytes(rand, 1 + Math.floor(rand() * 20_000)); if (rand() < 0.5) bytes[0] = 3; }
  else { const len = Math.min(base.length, 1600 + Math.floor(rand() * 60_000)); bytes = mutate(base.subarray(0, len), rand, rand() < 0.8 ? 3073 : 0); }
  await sendSession(server.rtmpPort, bytes, rand, 100);
}}));
clearInterval(t);
await server.stop(); server.cleanup();
