/** zod issues as field problems (`s3.bucket: must be …`), for API answers. */
import type { z } from 'zod';
import type { FieldProblem } from '../errors.js';

/** `a.b[0].c` from a zod path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** One problem per issue; unknown keys one per key, each named. */
export function fieldProblems(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldProblem[] {
  const join = (p: string) => (prefix && p ? `${prefix}.${p}` : prefix || p);
  return issues.flatMap((i) => {
    const at = fieldPath(i.path);
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ path: join(at ? `${at}.${k}` : k), message: 'unknown key' }));
    return [{ path: join(at), message: i.message }];
  });
}
