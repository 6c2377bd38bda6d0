/**
 * Per-application viewing access (`playback`): who may watch.
 * - `public` (default): anyone who knows a media URL;
 * - `signed`: every media, forwarding and playback URL of the app needs
 *   `?token=`, minted by `POST /api/v1/applications/<app>/playback-tokens`
 *   and signed with the app's viewing key (src/forwarding/playback-token.ts).
 * `keyGeneration` picks the viewing key: bumping it revokes every token of the app.
 */
import { z } from 'zod';

export const playbackSettings = z
  .strictObject({
    access: z.enum(['public', 'signed']).default('public').describe('`public` or `signed`.'),
    maxTokenLifetimeSeconds: z.number().int().min(60).max(604_800).default(86_400).describe('Longest lifetime a minted viewing token may have, in seconds (a leaked link must not work for long).'),
    keyGeneration: z.number().int().min(0).max(1_000_000_000).default(0).describe("Generation of the app's viewing key. Raising it (by one is enough) revokes every viewing token minted so far: they are refused as `token_invalid` and new ones are signed with the new key. Lowering it back makes that generation's tokens valid again."),
  })
  .prefault({});

/** Fields spread into `appSettings`. */
export const playbackFields = {
  playback: playbackSettings.describe("Who may watch this app's streams and recordings."),
};

export type PlaybackSettings = z.output<typeof playbackSettings>;
