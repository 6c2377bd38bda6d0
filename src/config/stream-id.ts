/** Stream id rules, the same for every protocol. */

const STREAM_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Returns why a stream id is not acceptable, or null when it is. */
export function streamIdProblem(id: string): string | null {
  if (id.length === 0) return 'stream id is empty';
  if (id.length > 128) return `stream id is ${id.length} characters, at most 128 are allowed`;
  if (!STREAM_ID.test(id)) return 'stream id may only contain letters, digits, "-", "_" and "." and may not start with "."';
  return null;
}
