/**
 * Settings of WebRTC ingest (WHIP): server-wide under `whip`, per application
 * under `applications[].whip`. Kept apart from schema.ts so the WHIP module's
 * settings stay in one place.
 */
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);
const portRange = z
  .tuple([port, port])
  .refine(([min, max]) => max - min >= 1, 'must be [min, max] with max > min');

const iceServer = z.strictObject({
  urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('`stun:host:port`, `turn:host:port?transport=udp` … (one or several).'),
  username: z.string().optional().describe('TURN user name.'),
  credential: z.string().optional().describe('TURN password.'),
});

export const whipServerSettings = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Accept WHIP publishers at `POST /<app>/whip/<streamId>`.'),
    iceServers: z.array(iceServer).default([]).describe('STUN/TURN servers: used by the server to gather its own candidates, and announced to clients in `Link: rel="ice-server"` headers.'),
    additionalHostAddresses: z.array(z.union([z.ipv4(), z.ipv6()])).default(['127.0.0.1']).describe("Addresses to gather host candidates on besides the machine's interfaces (which exclude loopback). `127.0.0.1` lets publishers on the same machine connect even when it has no other network."),
    icePortRange: portRange.optional().describe('UDP ports for ICE (open them in a firewall); any free port when unset.'),
    recorderPortRange: portRange.default([20000, 29999]).describe("Loopback UDP ports the recorder's ffmpeg listens on for forwarded RTP (two per track). Outside the kernel's ephemeral range so sockets bound to port 0 never take them."),
    connectTimeoutSeconds: z.number().min(1).max(120).default(15).describe('Seconds a publisher has to complete ICE and DTLS after its offer.'),
    mediaTimeoutSeconds: z.number().min(1).max(9).default(5).describe('Seconds without a packet from a connected publisher before its session ends. At most 9: ffmpeg gives up on silent RTP input after 10 s.'),
    keyframeIntervalSeconds: z.number().min(0.5).max(60).default(2).describe('Seconds between keyframe requests (PLI), so segments and previews start on keyframes.'),
    videoStartBitrateKbps: z.number().int().min(0).max(50_000).default(1500).describe('Video bitrate (kbit/s) browsers start at (`x-google-start-bitrate` in the answer); 0 leaves their default of 300, from which they climb slowly.'),
    allowOrigin: z.string().min(1).default('*').describe('`Access-Control-Allow-Origin` of the WHIP endpoints (browsers on other sites).'),
  })
  .prefault({});

export const whipAppSettings = z
  .strictObject({
    requireMp4: z.boolean().default(false).describe('WebRTC publishers sending VP8 or VP9 are transcoded to H.264 so the recording is an MP4 like every other (costs an encode per stream); when false they are recorded as sent, in a WebM file.'),
  })
  .prefault({});

export type WhipServerSettings = z.output<typeof whipServerSettings>;
export type WhipAppSettings = z.output<typeof whipAppSettings>;
