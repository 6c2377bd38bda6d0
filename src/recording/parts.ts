/**
 * MP4 parts of a recording (`recordSegmentSeconds`). ffmpeg's segment muxer
 * writes each part as a crash-safe fragmented MP4 in the work dir
 * (`<name>_p0001.fmp4` …) and appends `file,start,end` (media seconds) to a
 * CSV list when it closes one. A closed part is remuxed to its final
 * faststart MP4 in the streams folder, probed, and described in a record
 * (`part-0001.json`) written durably before it is announced, so a crash at
 * any step finalizes it once and never again.
 *
 * Wall-clock times are the recording's anchor (`mediaStartedAt`: the arrival
 * time of the first packet the recorder got, its media time 0) plus the part's
 * media offset from the list (not file times) and its probed length; a part
 * the list does not name (the one being written when the process was killed)
 * starts where the previous ended.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AudioInfo, RecordedPart, VideoInfo } from '../events/types.js';
import { errorMessage } from '../errors.js';
import { remuxFile, type FinalizeOptions } from './finalizer.js';
import { writeDurablyAsync } from './manifest.js';
import { mediaStart, type RecordingManifest } from './manifest.js';
import { escapeRe, type RecordingPaths } from './paths.js';
import { probe } from './probe.js';

/** A finalized part with what the probe found. */
export interface PartRecord {
  part: RecordedPart;
  video?: VideoInfo;
  audio?: AudioInfo;
}

/** `<name>_p0001.mp4`: the part number sorts a listing in time order (four digits, more past 9999). */
export function partFileName(name: string, n: number, ext = 'mp4'): string {
  return `${name}_p${String(n).padStart(4, '0')}.${ext}`;
}

/** The live (work dir) file of part `n`. */
export function livePartPath(m: RecordingManifest, p: RecordingPaths, n: number): string {
  return path.join(p.workDir, partFileName(m.name, n, 'fmp4'));
}

/** Media start and end (seconds) of each part ffmpeg closed, by part number. */
export function readPartList(m: RecordingManifest, p: RecordingPaths): Map<number, { start: number; end: number }> {
  const out = new Map<number, { start: number; end: number }>();
  let text: string;
  try {
    text = readFileSync(p.partList, 'utf8');
  } catch {
    return out;
  }
  const re = new RegExp(`^${escapeRe(m.name)}_p(\\d+)\\.fmp4$`);
  for (const line of text.split('\n')) {
    const [file, start, end] = line.trim().split(',');
    const n = re.exec(file ?? '')?.[1];
    // A line cut short by a crash has no end: that part counts as not closed.
    if (n && Number.isFinite(Number(start)) && Number.isFinite(Number(end)) && end !== '') out.set(Number(n), { start: Number(start), end: Number(end) });
  }
  return out;
}

/** Part numbers whose live file is in the work dir. */
export function liveParts(m: RecordingManifest, p: RecordingPaths): number[] {
  const re = new RegExp(`^${escapeRe(m.name)}_p(\\d+)\\.fmp4$`);
  let names: string[];
  try {
    names = readdirSync(p.workDir);
  } catch {
    return [];
  }
  return names.flatMap((n) => re.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
}

function recordPath(p: RecordingPaths, n: number): string {
  return path.join(p.workDir, `part-${String(n).padStart(4, '0')}.json`);
}

/** Records of the parts finalized so far, by part number. */
export function readPartRecords(p: RecordingPaths): Map<number, PartRecord> {
  const out = new Map<number, PartRecord>();
  let names: string[];
  try {
    names = readdirSync(p.workDir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^part-\d+\.json$/.test(n)) continue;
    try {
      const rec = JSON.parse(readFileSync(path.join(p.workDir, n), 'utf8')) as PartRecord;
      if (rec.part?.part && rec.part.name) out.set(rec.part.part, rec);
    } catch {
      // Torn by a crash before its rename: the part is finalized again from its files.
    }
  }
  return out;
}

export interface PartFinalizeOptions extends FinalizeOptions {
  /** File name of the final part (`<name>.mp4` when the recording turned out to be one part). */
  finalName: string;
  /** Media offset to use when the list does not name the part: where the previous part ended. */
  fallbackOffset: number;
  /**
   * The streams of an earlier part of the same recording (one ffmpeg output, copied: they do not change).
   * A part closed while live (followed by the next, its span in ffmpeg's list) then needs no ffprobe:
   * under load, spawning ffprobe was 0.8 s (p50) of the 1.7 s between a part's close and its upload.
   */
  streams?: { video?: VideoInfo; audio?: AudioInfo };
  /** Filled with how long each step took, ms (logged with the part). */
  timings?: { remuxMs?: number; fsyncMs?: number; probeMs?: number; recordMs?: number };
}

/**
 * Finalizes part `n` (idempotent): remux, probe, record. Null when the part
 * holds no media (its files are removed).
 */
export async function finalizePart(m: RecordingManifest, p: RecordingPaths, n: number, opts: PartFinalizeOptions): Promise<PartRecord | null> {
  const known = readPartRecords(p).get(n);
  if (known) return known;
  const live = livePartPath(m, p, n);
  const final = path.join(p.streamsDir, opts.finalName);
  // Killed after the remux's rename and before the record: the remuxed file is whole (fsynced before its
  // rename) and the live one is gone. Part 1 may carry its other name; it takes the one chosen now.
  if (!existsSync(live) && !existsSync(final)) {
    const other = finalNames(m, p, n).find((f) => f !== final && existsSync(f));
    if (other) renameSync(other, final);
  }
  const damaged = path.join(p.streamsDir, `${path.basename(opts.finalName, '.mp4')}.damaged.fmp4`);
  const t0 = performance.now();
  const { fsyncMs } = await remuxFile({ live, final, damaged, webm: false }, opts);
  const t1 = performance.now();
  if (opts.timings) Object.assign(opts.timings, { remuxMs: Math.round(t1 - t0), fsyncMs });
  if (!existsSync(final)) return null;
  const listed = readPartList(m, p);
  const base = listed.get(1)?.start ?? 0;
  const entry = listed.get(n);
  const offset = entry ? entry.start - base : opts.fallbackOffset;
  // A part followed by another spans exactly to the next one's start (ffmpeg's list: no gap, no overlap);
  // the last part spans what its file holds (its list end was seen short of that for a stream's only part).
  const followed = listed.has(n + 1) || existsSync(livePartPath(m, p, n + 1)) || readPartRecords(p).has(n + 1);
  // A part ffmpeg closed and followed holds media (the segment muxer cuts only at a packet): its span is in the list.
  const streams = entry && followed && entry.end > entry.start && (opts.streams?.video || opts.streams?.audio) ? opts.streams : undefined;
  const probed = entry && streams
    ? { durationSeconds: entry.end - entry.start, video: streams.video, audio: streams.audio }
    : await probe(opts.ffprobePath, final).catch((err) => {
        opts.log.warn({ err: errorMessage(err), file: final }, 'ffprobe failed');
        return undefined;
      });
  if (!probed || (!probed.video && !probed.audio)) {
    opts.log.warn({ file: final }, 'the part holds no audio or video, removing it');
    rmSync(final, { force: true });
    return null;
  }
  const duration = entry && followed ? entry.end - entry.start : probed.durationSeconds;
  const started = Date.parse(mediaStart(m)) + offset * 1000;
  const rec: PartRecord = {
    part: {
      part: n,
      name: opts.finalName,
      path: final,
      size: statSync(final).size,
      startedAt: new Date(Math.round(started)).toISOString(),
      endedAt: new Date(Math.round(started + duration * 1000)).toISOString(),
      durationSeconds: round3(duration),
      offsetSeconds: round3(offset),
    },
    video: probed.video,
    audio: probed.audio,
  };
  const t2 = performance.now();
  await writeDurablyAsync(p.workDir, path.basename(recordPath(p, n)), rec);
  if (opts.timings) Object.assign(opts.timings, { probeMs: Math.round(t2 - t1), recordMs: Math.round(performance.now() - t2) });
  return rec;
}

/**
 * Finalizes every part not finalized yet (after ffmpeg exited, or after a
 * crash) and returns all parts in order. A recording that is one part not
 * announced before becomes `<name>.mp4`, as a recording not split.
 */
export async function finalizeAllParts(m: RecordingManifest, p: RecordingPaths, opts: FinalizeOptions): Promise<PartRecord[]> {
  const done = readPartRecords(p);
  const numbers = [...new Set([...done.keys(), ...liveParts(m, p), ...remuxedParts(m, p)])].sort((a, b) => a - b);
  const single = numbers.length === 1 && !done.has(numbers[0]);
  const out: PartRecord[] = [];
  let offset = 0;
  for (const n of numbers) {
    const finalName = single ? path.basename(p.final) : partFileName(m.name, n);
    const rec = done.get(n) ?? (await finalizePart(m, p, n, { ...opts, finalName, fallbackOffset: offset }));
    if (!rec) continue;
    out.push(rec);
    offset = rec.part.offsetSeconds + rec.part.durationSeconds;
  }
  // Part 1 has two possible names: the recording's own when it is the only part, `_p0001` otherwise. A
  // finalization killed after writing it under one name, followed by a recovery that names it the other way
  // (its part closed while live in the meantime), leaves the first file behind: no record or catalog row
  // names it, so nothing would ever upload or delete it.
  const first = out.find((r) => r.part.part === 1);
  if (first) {
    for (const name of [path.basename(p.final), partFileName(m.name, 1)]) {
      const file = path.join(p.streamsDir, name);
      if (file !== first.part.path) rmSync(file, { force: true });
    }
  }
  return out;
}

/** The names part `n` may have in the streams folder (part 1: `_p0001` or the recording's own). */
function finalNames(m: RecordingManifest, p: RecordingPaths, n: number): string[] {
  const numbered = path.join(p.streamsDir, partFileName(m.name, n));
  return n === 1 ? [numbered, p.final] : [numbered];
}

/**
 * Part numbers whose remuxed file is in the streams folder, recorded or not: a
 * finalization killed between the remux's rename and the part's record left
 * the only copy of that part there (its live file already removed).
 */
function remuxedParts(m: RecordingManifest, p: RecordingPaths): number[] {
  const re = new RegExp(`^${escapeRe(m.name)}_p(\\d+)\\.mp4$`);
  let names: string[];
  try {
    names = readdirSync(p.streamsDir);
  } catch {
    return [];
  }
  const single = path.basename(p.final);
  return names.flatMap((n): number[] => (n === single ? [1] : re.test(n) ? [Number(re.exec(n)![1])] : []));
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Whether the live file of part `n` exists (a later part exists once ffmpeg moved past `n`). */
export function livePartExists(m: RecordingManifest, p: RecordingPaths, n: number): boolean {
  try {
    return statSync(livePartPath(m, p, n)).isFile();
  } catch {
    return false;
  }
}
