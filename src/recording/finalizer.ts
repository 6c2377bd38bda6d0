/**
 * Makes a recording's files final, after ffmpeg exited or after a crash:
 * remuxes the live file to a seekable file with the index in front
 * (`+faststart`), closes the HLS playlist as VOD, picks the poster, and
 * describes everything as a `recording.completed` payload. Every step can run
 * again after a crash part-way (the live file is deleted only after the final
 * file was renamed into place).
 */
import { existsSync, statSync, readdirSync, readFileSync, rmSync, renameSync, copyFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import type { RecordedFile, RecordingCompleted } from '../events/types.js';
import { AppError, errorMessage } from '../errors.js';
import { isDiskFull } from './disk-space.js';
import { mediaStart, type RecordingManifest } from './manifest.js';
import { escapeRe, type RecordingPaths } from './paths.js';
import { closePlaylist, lastSegmentNumber, playlistDuration, playlistSegments } from './hls-playlist.js';
import { salvageSegments } from './hls-salvage.js';
import { probe, type ProbeResult } from './probe.js';
// ffmpeg runs (remux, poster) start from the spawn helper: no fork of this large process on its event loop.
import { runFile as run } from '../process/spawner.js';
import { finalizeAllParts, type PartRecord } from './parts.js';

export interface FinalizeOptions {
  ffmpegPath: string;
  ffprobePath: string;
  log: Logger;
  /** Free bytes of the data dir's filesystem (the remux writes a second copy of the live file). */
  freeBytes?: () => number;
}

/** Room kept free beyond the remuxed copy itself (playlist rewrite, poster, SQLite). */
const REMUX_HEADROOM = 8 * 1024 * 1024;

/**
 * Finalizes a recording. Returns the completed-recording description, or null
 * when the recording holds no media at all (its leftovers are removed).
 */
export async function finalizeRecording(
  m: RecordingManifest,
  p: RecordingPaths,
  opts: FinalizeOptions & { endedAt?: Date; recovered: boolean },
): Promise<RecordingCompleted | null> {
  const { log } = opts;
  const files: RecordedFile[] = [];
  let probed: ProbeResult | undefined;

  let parts: PartRecord[] | undefined;
  if (m.mp4 && m.segmentSeconds) {
    parts = await finalizeAllParts(m, p, opts);
    // Parts announced while live may be uploaded and gone locally: described from their records.
    for (const r of parts) files.push({ kind: 'mp4', path: r.part.path, name: r.part.name, size: r.part.size });
    const first = parts[0];
    if (first) probed = { durationSeconds: partsDuration(parts), video: first.video, audio: first.audio };
  } else if (m.mp4) {
    await remuxLiveFile(m, p, opts);
    if (existsSync(p.final)) {
      probed = await probe(opts.ffprobePath, p.final).catch((err) => {
        log.warn({ err: errorMessage(err), file: p.final }, 'ffprobe failed');
        return undefined;
      });
      if (probed && !probed.video && !probed.audio) {
        // Killed before the first fragment was written: the live file held only its header, and so does the remux.
        log.warn({ file: p.final }, 'the recorded file holds no audio or video, removing it');
        rmSync(p.final, { force: true });
        probed = undefined;
      } else {
        files.push(fileEntry(m.liveContainer === 'webm' ? 'webm' : 'mp4', p.final));
      }
    }
  }

  if (m.hls) files.push(...(await closeHls(p, opts)));

  const durationSeconds = probed?.durationSeconds || hlsDuration(p);
  if (!probed && existsSync(p.playlist)) probed = await probe(opts.ffprobePath, p.playlist).catch(() => undefined);

  if (files.length === 0) {
    log.warn({ name: m.name }, 'recording holds no media, nothing to keep');
    removeMatching(p.previewsDir, previewRegex(m, p));
    return null;
  }

  if (m.previews) files.push(...(await previewsAndPoster(m, p, opts, durationSeconds, files)));

  // The wall-clock time of media time 0 (the first packet's arrival), as the parts are placed.
  const startedAt = new Date(mediaStart(m));
  if (!parts && m.mp4 && probed && existsSync(p.final)) {
    // A recording not split is one part: the wall-clock index covers it too.
    const size = statSync(p.final).size;
    const d = probed.durationSeconds;
    parts = [{ part: { part: 1, name: path.basename(p.final), path: p.final, size, startedAt: startedAt.toISOString(), endedAt: new Date(startedAt.getTime() + Math.round(d * 1000)).toISOString(), durationSeconds: d, offsetSeconds: 0 } }];
  }
  const endedAt = opts.endedAt ?? new Date(startedAt.getTime() + Math.round(durationSeconds * 1000));
  return {
    recordingId: m.recordingId,
    app: m.app,
    streamId: m.streamId,
    protocol: m.protocol,
    name: m.name,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationSeconds: Math.round(durationSeconds * 1000) / 1000,
    sizeBytes: files.reduce((n, f) => n + f.size, 0),
    video: probed?.video,
    audio: probed?.audio,
    files,
    recovered: opts.recovered,
    parts: parts?.map((r) => r.part),
  };
}

/** Media length of a recording's parts: from the first part's start to the last one's end. */
function partsDuration(parts: PartRecord[]): number {
  const last = parts[parts.length - 1];
  return last.part.offsetSeconds + last.part.durationSeconds - parts[0].part.offsetSeconds;
}

async function remuxLiveFile(m: RecordingManifest, p: RecordingPaths, opts: FinalizeOptions): Promise<void> {
  const damaged = path.join(p.streamsDir, `${m.name}.damaged${path.extname(p.live)}`);
  await remuxFile({ live: p.live, final: p.final, damaged, webm: m.liveContainer === 'webm' }, opts);
}

/**
 * Remuxes a crash-safe live file into its final, seekable file (MP4 with the
 * index in front, or WebM), then removes the live file. A live file that
 * cannot be remuxed is kept as `damaged`; a full disk throws (nothing lost).
 */
export async function remuxFile(f: { live: string; final: string; damaged: string; webm: boolean }, opts: FinalizeOptions): Promise<{ fsyncMs?: number }> {
  if (!existsSync(f.live)) return {}; // already remuxed before a crash, or never written
  if (statSync(f.live).size === 0) {
    rmSync(f.live, { force: true });
    return {};
  }
  const tmp = `${f.final}.tmp`;
  const format = f.webm ? ['-f', 'webm'] : ['-movflags', '+faststart', '-f', 'mp4'];
  const needed = statSync(f.live).size + REMUX_HEADROOM;
  const free = opts.freeBytes?.() ?? Number.POSITIVE_INFINITY;
  if (free < needed) throw noRoom(needed, free);
  try {
    await run(opts.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', '-i', f.live, '-map', '0', '-c', 'copy', ...format, tmp]);
    const synced = performance.now();
    await fsyncFile(tmp);
    const fsyncMs = Math.round(performance.now() - synced);
    renameSync(tmp, f.final);
    rmSync(f.live, { force: true });
    return { fsyncMs };
  } catch (err) {
    rmSync(tmp, { force: true });
    // A full disk is not a damaged recording: keep the live file and its manifest, and finalize later.
    if (isDiskFull(err)) throw noRoom(needed, opts.freeBytes?.() ?? 0, err);
    // A live file with no complete fragment cannot be remuxed; keep it for inspection only if it had data.
    opts.log.error({ err: errorMessage(err), file: f.live }, 'remux of the live recording failed');
    renameSync(f.live, f.damaged);
    return {};
  }
}

/** The error that makes the recording manager keep a recording and finalize it once there is room. */
function noRoom(needed: number, free: number, cause?: unknown): AppError {
  const mib = (n: number) => Math.floor(n / (1024 * 1024));
  return new AppError('insufficient_storage', `no room to finalize the recording: the remux needs ${mib(needed)} MiB, ${mib(free)} MiB free`, 507, { cause });
}

async function closeHls(p: RecordingPaths, opts: FinalizeOptions): Promise<RecordedFile[]> {
  const { log } = opts;
  const segRe = new RegExp(`^${escapeRe(p.segmentPrefix)}\\d{5}\\.ts$`);
  rmSync(`${p.playlist}.tmp`, { force: true });
  const exists = (name: string) => segRe.test(name) && existsSync(path.join(p.streamsDir, name));
  const listedBefore = existsSync(p.playlist) ? playlistSegments(readFileSync(p.playlist, 'utf8')).filter(exists) : [];
  // The segment ffmpeg was writing when it stopped short (and any it did not list yet) is kept, not lost.
  const appended = await salvageSegments(p.streamsDir, p.segmentPrefix, lastSegmentNumber(listedBefore), opts);
  removeMatching(p.streamsDir, new RegExp(`^${escapeRe(p.segmentPrefix)}\\d{5}\\.ts\\.tmp$`));
  const listed = existsSync(p.playlist) || appended.length ? closePlaylist(p.playlist, exists, appended) : null;
  if (!listed) {
    if (existsSync(p.playlist)) log.warn({ playlist: p.playlist }, 'hls playlist lists no segment, removing it');
    rmSync(p.playlist, { force: true });
    removeMatching(p.streamsDir, segRe);
    return [];
  }
  // Segments on disk that the playlist does not list (before a gap) are dropped.
  const keep = new Set(listed);
  removeMatching(p.streamsDir, segRe, (n) => !keep.has(n));
  return [fileEntry('hls-playlist', p.playlist), ...listed.map((n) => fileEntry('hls-segment', path.join(p.streamsDir, n)))];
}

function hlsDuration(p: RecordingPaths): number {
  try {
    return playlistDuration(readFileSync(p.playlist, 'utf8'));
  } catch {
    return 0;
  }
}

async function previewsAndPoster(m: RecordingManifest, p: RecordingPaths, opts: FinalizeOptions, duration: number, files: RecordedFile[]): Promise<RecordedFile[]> {
  const re = previewRegex(m, p);
  // Images ffmpeg was writing when it died (atomic_writing leaves `<name>.tmp`), the stream's latest preview too.
  removeMatching(p.previewsDir, new RegExp(`${re.source.slice(0, -1)}\\.tmp$`));
  rmSync(`${p.latestPreview}.tmp`, { force: true });
  const series = readdirSync(p.previewsDir).filter((n) => re.test(n)).sort();
  const out = series.map((n) => fileEntry('preview', path.join(p.previewsDir, n)));
  // The poster is the second preview (~one period in, past fade-ins), else the first.
  const pick = series[1] ?? series[0];
  if (pick) {
    copyFileSync(path.join(p.previewsDir, pick), p.poster);
  } else if (existsSync(p.final) || firstLocalPart(files)) {
    // Too short for a preview: take one frame from the recording itself.
    const at = Math.max(0, Math.min(2, duration / 2));
    await run(opts.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', '-ss', String(at), '-i', existsSync(p.final) ? p.final : firstLocalPart(files)!, '-frames:v', '1', '-vf', `scale=-2:'min(${m.previewHeight},ih)'`, '-update', '1', p.poster]).catch(
      (err) => opts.log.warn({ err: errorMessage(err) }, 'no poster could be taken'),
    );
  }
  if (existsSync(p.poster)) out.push(fileEntry('poster', p.poster));
  return out;
}

/** The first MP4 part still on local disk (parts may be uploaded and deleted already). */
function firstLocalPart(files: RecordedFile[]): string | undefined {
  return files.find((f) => f.kind === 'mp4' && existsSync(f.path))?.path;
}

function previewRegex(m: RecordingManifest, p: RecordingPaths): RegExp {
  return new RegExp(`^${escapeRe(p.previewPrefix)}\\d{4}\\.${m.previewFormat}$`);
}

function fileEntry(kind: RecordedFile['kind'], file: string): RecordedFile {
  return { kind, path: file, name: path.basename(file), size: statSync(file).size };
}

function removeMatching(dir: string, re: RegExp, also: (name: string) => boolean = () => true): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (re.test(n) && also(n)) rmSync(path.join(dir, n), { force: true });
}

/** Flushes a file to disk off the event loop (a long recording's remux is gigabytes; a sync fsync blocked every stream). */
async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
