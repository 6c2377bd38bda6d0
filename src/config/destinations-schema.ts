/**
 * Per-app destination rules (`applications[].destinations`, issue 18 item 3):
 * recordings nobody started by hand go to the first rule whose stream-id
 * pattern matches (`cam-*` → `s3://bucket-x/cams/` with stored credential
 * `CR…`); a stream no rule matches goes to the app's own bucket. The
 * endpoint, region and path style default to the app's `s3` settings.
 *
 * In-line keys are not accepted here: a config file is plain text. Store the
 * keys as a credential (`POST /api/v1/credentials/aws`) and name its id.
 */
import { z } from 'zod';
import { bucketNameProblem } from './storage-schema.js';

/** `*` (any run of characters) and `?` (one character) over a stream id; everything else literal. */
export function streamIdPattern(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** `s3://bucket/prefix/` split, or a problem. The prefix keeps no leading or trailing slashes. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | { problem: string } {
  const m = /^s3:\/\/([^/?#]+)(\/[^?#]*)?$/.exec(url);
  if (!m) return { problem: 'must be "s3://<bucket>/<prefix>/" (no query or fragment)' };
  const bucket = m[1];
  const p = bucketNameProblem(bucket);
  if (p) return { problem: `bucket ${p}` };
  const prefix = (m[2] ?? '').split('/').filter((s) => s.length > 0);
  if (prefix.some((s) => s === '.' || s === '..') || (m[2] ?? '').includes('\\')) return { problem: 'the prefix must not contain "." or ".." segments or backslashes' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(prefix.join('/'));
  } catch {
    return { problem: 'the prefix is not valid percent-encoding' };
  }
  if (decoded.length > 512) return { problem: 'the prefix must be at most 512 characters' };
  return { bucket, prefix: decoded };
}

export const destinationRule = z
  .strictObject({
    streamId: z.string().min(1).max(256).describe('Stream ids this rule takes: `*` any run of characters, `?` one character (`cam-*`, `lobby`).'),
    url: z.string().superRefine((u, ctx) => {
      const r = parseS3Url(u);
      if ('problem' in r) ctx.addIssue({ code: 'custom', message: r.problem });
    }).describe('`s3://<bucket>/<prefix>/`: where the whole recording goes (its key templates apply under the prefix).'),
    credential: z.string().regex(/^CR[0-9a-fA-F]{32}$/, 'must be "CR" followed by 32 hex digits').optional().describe("Stored credential id (`CR` + 32 hex digits); the app's `s3.credentials` when unset."),
    endpoint: z.url().optional().describe("S3-compatible endpoint; the app's `s3.endpoint` when unset."),
    region: z.string().regex(/^[a-z0-9-]{2,32}$/, 'must look like "us-east-1"').optional().describe("Region; the app's `s3.region` when unset."),
    forcePathStyle: z.boolean().optional().describe("Path-style addressing; the app's `s3.forcePathStyle` when unset."),
  });

/** The destination keys of an application, spread into `appSettings`. */
export const destinationFields = {
  destinations: z.array(destinationRule).max(100).default([]).describe("Where recordings nobody started by hand go, by stream id; the first match wins, the app's bucket otherwise."),
};

export type DestinationRule = z.output<typeof destinationRule>;
