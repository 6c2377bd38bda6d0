/**
 * Per-application webhooks (`webhooks`): HTTP POSTs of JSON to the operator's
 * URLs when streams start and end and recordings are ready or uploaded, with
 * Ant Media's event names where they fit. Each body is signed with the
 * webhook's secret (HMAC-SHA256, `X-Bucketcast-Signature`). The API never
 * returns a secret, and keeps API-made settings encrypted at rest.
 */
import { z } from 'zod';

/** Events a webhook may subscribe to. */
export const WEBHOOK_EVENTS = ['liveStreamStarted', 'liveStreamEnded', 'recordingReady', 'recordingUploaded', 'uploadFailed', 'recordingPartUploaded'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Why a webhook URL is not usable, or null. */
export function webhookUrlProblem(value: string): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL such as https://example.com/hooks/bucketcast';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must start with http:// or https://';
  if (u.username || u.password) return 'must not contain a user name or password (the signature authenticates the sender)';
  if (u.hash) return 'must not contain a fragment';
  return null;
}

export const webhookSettings = z.strictObject({
  url: z
    .string()
    .max(2000)
    .refine((v) => webhookUrlProblem(v) === null, { error: (i) => webhookUrlProblem(String(i.input)) ?? 'invalid URL' })
    .describe('Where the POSTs go.'),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .default([...WEBHOOK_EVENTS])
    .refine((e) => new Set(e).size === e.length, 'must not repeat an event')
    .describe('Events sent to it (all of them by default).'),
  secret: z.string({ error: (i) => (i.input === undefined ? 'required: a shared secret of 16 to 256 characters' : 'must be a string') }).min(16).max(256).describe('Shared secret the body is signed with (16–256 characters); the receiver verifies with it.'),
  enabled: z.boolean().default(true).describe('Set false to pause deliveries to this URL.'),
});

/** Fields spread into `appSettings`. */
export const webhookFields = {
  webhooks: z
    .array(webhookSettings)
    .max(20)
    .default([])
    .superRefine((hooks, ctx) => {
      const seen = new Set<string>();
      hooks.forEach((h, i) => {
        if (seen.has(h.url)) ctx.addIssue({ code: 'custom', path: [i, 'url'], message: 'is listed twice' });
        seen.add(h.url);
      });
    }).describe('Webhooks of this app.'),
};

export type WebhookSettings = z.output<typeof webhookSettings>;
