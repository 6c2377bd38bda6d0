/**
 * Pure time arithmetic of playback: parts merged into spans of recorded time
 * (a gap wherever nothing was recorded), and the cut of each part a
 * time-range clip needs.
 */
import type { PartLocation } from '../db/types.js';

/** Parts closer than this are one span (consecutive parts of a recording touch within a frame). */
export const GAP_TOLERANCE_MS = 1000;

export interface Span {
  /** Epoch ms. */
  start: number;
  end: number;
}

/** Spans of recorded time within [from, to), in order. */
export function spansOf(parts: Array<Pick<PartLocation, 'startedAt' | 'endedAt'>>, from: number, to: number): Span[] {
  const out: Span[] = [];
  const sorted = [...parts].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  for (const p of sorted) {
    const start = Math.max(from, Date.parse(p.startedAt));
    const end = Math.min(to, Date.parse(p.endedAt));
    if (end <= start) continue;
    const last = out[out.length - 1];
    if (last && start - last.end <= GAP_TOLERANCE_MS) last.end = Math.max(last.end, end);
    else out.push({ start, end });
  }
  return out;
}

/** One part's share of a clip: seconds into the part where it starts and ends (undefined: from the start / to the end). */
export interface Cut {
  part: PartLocation;
  inpoint?: number;
  outpoint?: number;
}

/** The cut of each part overlapping [from, to). */
export function cutsOf(parts: PartLocation[], from: number, to: number): Cut[] {
  return parts
    .filter((p) => Date.parse(p.endedAt) > from && Date.parse(p.startedAt) < to)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))
    .map((part) => {
      const start = Date.parse(part.startedAt);
      const end = Date.parse(part.endedAt);
      return {
        part,
        inpoint: from > start ? (from - start) / 1000 : undefined,
        outpoint: to < end ? (to - start) / 1000 : undefined,
      };
    });
}
