/**
 * Trickle ICE fragments (RFC 8840 `application/trickle-ice-sdpfrag`) sent by
 * WHIP clients in PATCH requests: ICE credentials, `a=mid` sections and the
 * candidates in each.
 */
import { AppError } from '../../errors.js';

export interface TrickleFragment {
  ufrag?: string;
  pwd?: string;
  candidates: Array<{ candidate: string; mid?: string }>;
  endOfCandidates: boolean;
}

/** Largest fragment accepted (bytes). */
export const MAX_FRAGMENT_BYTES = 16 * 1024;

/** Parses a fragment; throws `AppError` 400 when it is not one. */
export function parseTrickleFragment(text: string): TrickleFragment {
  const out: TrickleFragment = { candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (!/^[a-z]=/.test(line)) throw bad(`not an SDP line: "${line.slice(0, 60)}"`);
    if (line.startsWith('a=ice-ufrag:')) out.ufrag = line.slice('a=ice-ufrag:'.length);
    else if (line.startsWith('a=ice-pwd:')) out.pwd = line.slice('a=ice-pwd:'.length);
    else if (line.startsWith('a=mid:')) mid = line.slice('a=mid:'.length);
    else if (line.startsWith('a=candidate:')) {
      const candidate = line.slice(2);
      if (candidate.split(' ').length < 8) throw bad(`malformed candidate "${line.slice(0, 80)}"`);
      out.candidates.push({ candidate, mid });
    } else if (line === 'a=end-of-candidates') out.endOfCandidates = true;
  }
  return out;
}

function bad(message: string): AppError {
  return new AppError('bad_fragment', `malformed trickle ICE fragment: ${message}`, 400);
}
