/**
 * WHIP test helpers: headless Chromium publishing through public/publish.html
 * (fake camera and microphone, optionally from files), capture files whose
 * picture flashes white exactly when the sound beeps (to measure A/V sync in a
 * recording), and a browser-like SDP offer for requests sent without a browser.
 */
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CACHE_DIR } from './fixtures.js';
import { BASE_CHROMIUM_ARGS } from './player-browser.js';

const run = promisify(execFile);

export const CHROMIUM_ARGS = [
  ...BASE_CHROMIUM_ARGS,
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // The server's candidates include 127.0.0.1, which Chromium ignores without this.
  '--allow-loopback-in-peer-connection',
];

export interface Publisher {
  browser: Browser;
  page: Page;
  /** The browser's main process id (its renderers are in its process group). */
  pid: number;
  /** Kills the whole browser at once (SIGKILL to its process group): no goodbye of any kind. */
  kill(): void;
  close(): Promise<void>;
}

export interface PublisherOptions {
  /** y4m file the fake camera plays. */
  videoFile?: string;
  /** wav file the fake microphone plays. */
  audioFile?: string;
  args?: string[];
}

/** Opens publish.html in a fresh headless Chromium. */
export async function openPublisher(url: string, opts: PublisherOptions = {}): Promise<Publisher> {
  const args = [...CHROMIUM_ARGS, ...(opts.args ?? [])];
  if (opts.videoFile) args.push(`--use-file-for-fake-video-capture=${opts.videoFile}`);
  if (opts.audioFile) args.push(`--use-file-for-fake-audio-capture=${opts.audioFile}`);
  const server: BrowserServer = await chromium.launchServer({ executablePath: '/usr/bin/chromium', headless: true, args });
  const pid = server.process().pid!;
  const browser = await chromium.connect(server.wsEndpoint());
  const page = await browser.newPage();
  await page.goto(url);
  const kill = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  return {
    browser,
    page,
    pid,
    kill,
    async close() {
      await browser.close().catch(() => undefined);
      await server.close().catch(() => undefined);
      kill();
    },
  };
}

/** Clicks Start and waits until the page shows the connection as live; returns the page's connect time (ms). */
export async function startPublishing(page: Page, timeoutMs = 30_000): Promise<number> {
  await page.click('#start');
  try {
    await page.waitForSelector('#state[data-state=connected]', { timeout: timeoutMs });
  } catch (err) {
    const state = await page.evaluate('JSON.stringify(document.body.dataset)');
    throw new Error(`publisher did not connect: ${state}`, { cause: err });
  }
  return Number(await page.evaluate('document.body.dataset.connectedAt'));
}

/** Clicks Stop and waits until the page has ended the session; returns the page's stop time (ms). */
export async function stopPublishing(page: Page): Promise<number> {
  await page.click('#stop');
  await page.waitForSelector('#state[data-state=stopped]', { timeout: 15_000 });
  return Number(await page.evaluate('document.body.dataset.stoppedAt'));
}

/**
 * Decodes a whole recording; true when ffmpeg reports no error. WebRTC video has
 * a variable frame rate: with its default time base of 1/fps the null muxer
 * would report two frames closer than a frame period as an error, so frames
 * keep their own timestamps here.
 */
export async function decodesCleanly(file: string): Promise<boolean> {
  return (await decodeErrors(file)) === '';
}

/** What a full decode of `file` reports as errors ('' for none), to say in a failing assertion. */
export async function decodeErrors(file: string): Promise<string> {
  try {
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-enc_time_base', '1:90000', '-f', 'null', '-'], { maxBuffer: 16 * 1024 * 1024 });
    return stderr.trim();
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err).trim() || 'ffmpeg failed';
  }
}

export interface SyncFiles {
  video: string;
  audio: string;
}

/**
 * A fake camera/microphone pair: black frames with a white flash starting at
 * every whole second, silence with a 100 ms 1 kHz beep at the same instants.
 * The flash lasts 300 ms so that an encoder dropping frames under CPU load
 * still shows it (a little late at worst). Long enough that Chromium never
 * loops them during a test (its y4m loop adds a frame per turn, which would
 * drift against the audio). Small frames keep the file small; sync does not
 * depend on size.
 */
export async function syncCaptureFiles(seconds = 32, width = 192, height = 108): Promise<SyncFiles> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const base = path.join(CACHE_DIR, `sync_${seconds}s_${width}x${height}_f300`);
  const video = `${base}.y4m`;
  const audio = `${base}.wav`;
  const make = async (file: string, args: string[]) => {
    if (existsSync(file)) return;
    const tmp = `${file}.${process.pid}.tmp${path.extname(file)}`;
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, tmp], { timeout: 120_000 });
    renameSync(tmp, file); // atomic: parallel test files may generate the same files
  };
  await make(video, [
    '-f', 'lavfi', '-i', `color=c=black:s=${width}x${height}:r=30:d=${seconds}`,
    '-vf', "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.3)'",
    '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe',
  ]);
  await make(audio, [
    '-f', 'lavfi', '-i', `sine=f=1000:r=48000:d=${seconds}`,
    '-af', "volume=enable='gte(mod(t\\,1)\\,0.1)':volume=0",
    '-ac', '1', '-c:a', 'pcm_s16le', '-f', 'wav',
  ]);
  return { video, audio };
}

/**
 * The capture files encoded once (H.264 baseline + Opus in Matroska), so a test
 * can send them as RTP without encoding on the fly (an encoder's start-up delay
 * would skew the sender's own timing).
 */
export async function syncEncodedFile(files: SyncFiles): Promise<string> {
  const file = files.video.replace(/\.y4m$/, '.mkv');
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp.mkv`;
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', files.video, '-i', files.audio, '-map', '0:v', '-map', '1:a',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'libopus', '-ar', '48000', '-ac', '2', tmp,
  ], { timeout: 120_000 });
  renameSync(tmp, file);
  return file;
}

export interface SyncReport {
  /** Start of every beep in the recording (s). */
  beeps: number[];
  /** Start of every white flash (s). */
  flashes: number[];
  /** For each beep, beep time minus the nearest flash time (s): positive when sound is late. */
  offsets: number[];
}

/** Finds the beeps and flashes of a recording made from `syncCaptureFiles`. */
export async function measureSync(file: string): Promise<SyncReport> {
  const big = { maxBuffer: 1 << 28, encoding: 'buffer' as const };
  // Samples are placed by their timestamps (silence before a late start and in gaps), as a player would.
  const { stdout: pcm } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a', '-af', 'aresample=async=1:first_pts=0', '-ac', '1', '-ar', '8000', '-f', 's16le', '-'], big);
  const win = 40; // 5 ms
  const beeps: number[] = [];
  let loud = false;
  for (let i = 0; i + win <= pcm.length / 2; i += win) {
    let sum = 0;
    for (let j = 0; j < win; j++) sum += pcm.readInt16LE((i + j) * 2) ** 2;
    const on = Math.sqrt(sum / win) > 2000;
    if (on && !loud) beeps.push(i / 8000);
    loud = on;
  }
  const { stdout: times } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts_time', '-of', 'json', file], { maxBuffer: 1 << 26 });
  const pts = (JSON.parse(times) as { frames: Array<{ pts_time?: string }> }).frames.map((f) => Number(f.pts_time));
  // One output frame per decoded frame (passthrough), so frame k is ffprobe's frame k: rawvideo would otherwise be
  // made constant-rate, duplicating frames of a variable-rate recording (a starved camera) and shifting every flash.
  const { stdout: gray } = await run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-fps_mode', 'passthrough', '-vf', 'scale=16:9,format=gray', '-f', 'rawvideo', '-'], big);
  const frame = 16 * 9;
  const flashes: number[] = [];
  let bright = false;
  for (let i = 0, k = 0; i + frame <= gray.length; i += frame, k++) {
    let sum = 0;
    for (let j = 0; j < frame; j++) sum += gray[i + j];
    const on = sum / frame > 128;
    if (on && !bright && Number.isFinite(pts[k])) flashes.push(pts[k]);
    bright = on;
  }
  const offsets = beeps.map((b) => {
    let best = Infinity;
    for (const f of flashes) if (Math.abs(b - f) < Math.abs(best)) best = b - f;
    return Math.round(best * 1000) / 1000;
  });
  return { beeps, flashes, offsets };
}

/**
 * An offer as Chromium writes it (H.264 + VP8 video, Opus audio), for requests
 * that never reach ICE: refusals, error paths. `video`/`audio` replace the
 * codec lines of that section.
 */
export function browserLikeOffer(opts: { videoCodecs?: string[]; audioCodecs?: string[] } = {}): string {
  const video = opts.videoCodecs ?? ['96 VP8/90000', '102 H264/90000'];
  const audio = opts.audioCodecs ?? ['111 opus/48000/2'];
  const common = (mid: string) => [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:Ab1c',
    'a=ice-pwd:0123456789abcdefghijklmn',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 1F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00:1F:2E:3D:4C:5B:6A:79:88:97:A6:B5:C4:D3:E2:F1:00',
    'a=setup:actpass',
    `a=mid:${mid}`,
    'a=sendonly',
    'a=msid:s t',
    'a=rtcp-mux',
  ];
  const section = (kind: string, mid: string, codecs: string[], ssrc: number) => [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF ${codecs.map((c) => c.split(' ')[0]).join(' ')}`,
    ...common(mid),
    ...codecs.map((c) => `a=rtpmap:${c}`),
    ...codecs.filter((c) => / H264\//.test(c)).map((c) => `a=fmtp:${c.split(' ')[0]} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`),
    ...codecs.map((c) => `a=rtcp-fb:${c.split(' ')[0]} nack pli`),
    `a=ssrc:${ssrc} cname:test`,
  ];
  return [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    ...section('audio', '0', audio, 1111),
    ...section('video', '1', video, 2222),
    '',
  ].join('\r\n');
}
