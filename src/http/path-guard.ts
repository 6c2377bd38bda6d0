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
    if (decoded.split('/').some((seg) => seg === '..' || seg === '.')) return 'dot segment in path';
  }
  return null;
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
