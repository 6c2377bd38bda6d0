/**
 * `applications[].sources`: streams the server pulls (or, for an SRT
 * listener, waits for) instead of waiting for a push. See docs/sources.md.
 */
import { z } from 'zod';
import { streamIdProblem } from './stream-id.js';
import { sourceUrlProblem } from './source-url.js';
import { destinationRule } from './destinations-schema.js';

export const sourceSettings = z
  .strictObject({
    streamId: z.string().superRefine((v, ctx) => {
      const p = streamIdProblem(v);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }).describe('The stream id the source is published as (one publisher per id, whatever the protocol).'),
    url: z
      .string()
      .max(4096)
      .superRefine((v, ctx) => {
        const p = sourceUrlProblem(v);
        if (p) ctx.addIssue({ code: 'custom', message: p });
      }).describe('rtsp://, rtmp://, rtmps://, http(s)://….m3u8, srt://host:port (caller) or srt://:port?mode=listener.'),
    enabled: z.boolean().default(true).describe('False: kept but not pulled.'),
    onDemand: z.boolean().default(false).describe('True: pulled only while viewers ask for its live playlist (stopped 60 s after the last request).'),
    rtspTransport: z.enum(['tcp', 'udp']).default('tcp').describe('RTSP only: `tcp` (interleaved, default) or `udp`.'),
    output: destinationRule.omit({ streamId: true }).optional().describe('Where its recordings go instead of the app\'s bucket: `{ url: "s3://bucket/prefix/", credential?: "CR…", endpoint?, region?, forcePathStyle? }` as a destination rule. No in-line keys here (a config file is plain text): store them as a credential. Through the API any `output` form but a pre-signed URL is taken (see src/sources/source-manager.ts).'),
  });

export type SourceSettings = z.output<typeof sourceSettings>;
export type SourceInput = z.input<typeof sourceSettings>;

/** The list of one app, each stream id at most once. */
export const sourcesField = z
  .array(sourceSettings)
  .max(1000)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((s, i) => {
      if (seen.has(s.streamId)) ctx.addIssue({ code: 'custom', path: [i, 'streamId'], message: `duplicate source stream id "${s.streamId}"` });
      seen.add(s.streamId);
    });
  })
  .describe('Streams the server pulls (RTSP, RTMP, HLS, SRT caller) or waits for (SRT listener), each recorded like a push; config file only (the API keeps its own list). See docs/sources.md.');
