/**
 * Server-wide settings of the admin API (top-level `api`): sessions, login
 * lockout, who may read `/metrics`, webhook delivery, and the public URL used
 * for absolute links in webhooks. Kept apart from schema.ts so the API's
 * contract reads in one place.
 */
import { z } from 'zod';

/** An http(s) base URL without credentials, query or fragment; a trailing slash is dropped. */
const baseUrl = z
  .string()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL such as https://media.example.com (no query, fragment or credentials)')
  .transform((v) => v.replace(/\/+$/, ''));

export const apiSettings = z
  .strictObject({
    publicUrl: baseUrl.optional().describe('Base URL viewers reach this server at (e.g. `https://media.example.com`), for absolute URLs in webhooks.'),
    sessionIdleHours: z.number().min(0.05).max(720).default(12).describe('Hours a panel session lasts without a request (each request extends it).'),
    sessionMaxHours: z.number().min(0.05).max(8760).default(168).describe('Hours a panel session lasts at most, however active.'),
    login: z
      .strictObject({
        maxFailuresPerIp: z.number().int().min(1).max(1000).default(10).describe('Failed logins from one address within `windowSeconds` before it is locked out.'),
        maxFailuresPerUser: z.number().int().min(1).max(1000).default(5).describe('Failed logins for one user (from any address) within `windowSeconds` before the user is locked out.'),
        windowSeconds: z.number().int().min(1).max(86_400).default(900).describe('Window in which failures are counted.'),
        lockoutSeconds: z.number().int().min(1).max(86_400).default(300).describe('How long a lockout lasts.'),
        maxConcurrentChecks: z.number().int().min(1).max(16).default(2).describe('Password checks (bcrypt, in worker threads) run at once.'),
        maxQueuedChecks: z.number().int().min(0).max(1000).default(16).describe('Password checks that may wait for a worker; more are answered 503 `login_busy`.'),
      })
      .prefault({})
      .describe('Login throttling: failures are counted per address and per user; checks run in worker threads.'),
    metrics: z
      .strictObject({
        public: z.boolean().default(false).describe('Serve `/metrics` without authentication (e.g. on a private network); otherwise an API token or a session is needed.'),
      })
      .prefault({})
      .describe('Who may read `/metrics`.'),
    webhooks: z
      .strictObject({
        timeoutSeconds: z.number().min(1).max(120).default(10).describe('Seconds one delivery attempt may take.'),
        retryMaxDelaySeconds: z.number().min(1).max(86_400).default(3600).describe('Longest wait between two attempts (exponential backoff with jitter up to it).'),
        maxAttempts: z.number().int().min(1).max(1000).default(20).describe('Attempts before a delivery is given up (marked failed; it can be retried through the API).'),
        concurrency: z.number().int().min(1).max(64).default(4).describe('Deliveries sent at once.'),
        keepDays: z.number().min(0.01).max(3650).default(14).describe('Days delivered and failed deliveries are kept for the API before they are pruned.'),
      })
      .prefault({})
      .describe('Webhook delivery (the webhooks themselves are per application: `applications[].webhooks`).'),
  })
  .prefault({});

export type ApiSettings = z.output<typeof apiSettings>;
