/**
 * Refuses request paths that try to leave the folder they name: `..` segments
 * (raw or percent-encoded, once or twice), encoded slashes and backslashes
 * (once or twice), backslashes, NUL and other control characters. Runs before
 * any route, so no file route (media, player assets, static pages) ever sees them.
 */
import type { NextFunction, Request, Response } from 'express';

const ENCODED_SEPARATOR = /%(2f|5c|00)/i;
// Control characters have no business in a file path (NUL truncates in C APIs; CR/LF split headers).
const CONTROL = /[\x00-\x1f\x7f]/;

/** Why a raw request path is refused, or null when it is acceptable. */
export function pathProblem(rawPath: string): string | null {
  if (rawPath.includes('\\') || CONTROL.test(rawPath)) return 'backslash or control character in path';
  // Without `%` decoding changes nothing: one look for dot segments is the whole check (the hot path of every viewer).
  if (!rawPath.includes('%')) return hasDotSegment(rawPath) ? 'dot segment in path' : null;
  if (ENCODED_SEPARATOR.test(rawPath)) return 'encoded slash, backslash or NUL in path';
  let decoded = rawPath;
  // Decode twice: `%252e%252e` is `..` to anything that decodes once more downstream.
  for (let i = 0; i < 2; i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      return 'malformed percent-encoding in path';
    }
    if (decoded.includes('\\') || CONTROL.test(decoded)) return 'backslash or control character in path';
    // `%252f` is an encoded slash to anything that decodes once more downstream.
    if (ENCODED_SEPARATOR.test(decoded)) return 'encoded slash, backslash or NUL in path';
    if (hasDotSegment(decoded)) return 'dot segment in path';
  }
  return null;
}

/** Whether a `/`-separated segment of `p` is `.` or `..`. */
function hasDotSegment(p: string): boolean {
  let start = 0;
  for (;;) {
    const end = p.indexOf('/', start);
    const len = (end < 0 ? p.length : end) - start;
    if (p.charCodeAt(start) === 46 /* . */ && (len === 1 || (len === 2 && p.charCodeAt(start + 1) === 46))) return true;
    if (end < 0) return false;
    start = end + 1;
  }
}

export function pathGuard(req: Request, res: Response, next: NextFunction): void {
  const raw = req.originalUrl.split('?', 1)[0];
  const problem = pathProblem(raw);
  if (problem) {
    res.status(400).json({ error: { code: 'bad_path', message: problem } });
    return;
  }
  next();
}
