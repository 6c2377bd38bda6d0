/**
 * The one configuration schema: server settings and the applications list.
 * Every object is strict, so a misspelt key is an error that names it.
 */
import { z } from 'zod';
import { forwardingFields, checkForwarding } from './forwarding-schema.js';
import { appStorageFields, storageSettings } from './storage-schema.js';
import { publishSecurityFields } from './publish-security-schema.js';
import { webhookFields } from './webhooks-schema.js';
import { playbackFields } from './playback-schema.js';
import { destinationFields } from './destinations-schema.js';
import { apiSettings } from './api-schema.js';
import { whipAppSettings, whipServerSettings } from './whip-schema.js';
import { sourcesField } from './sources-schema.js';

/** Letters, digits, `-` and `_`; the first path segment of every app URL. */
export const APP_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

/**
 * Names of what the server keeps in the data dir beside the app folders: an app of that name would make its
 * folder there, and `node-id` (a file) would make every later start fail. Names with a dot (`bucketcast.db`,
 * `secret.key`, `.work`) cannot be app names anyway. Reserved here rather than moving app folders under
 * `<dataDir>/apps/`, which would move every existing recording. `bucket` is the local store's folder.
 */
const DATA_DIR_NAMES = ['node-id', 'apps', 'tmp', 'work', 'bucket'];

/** First path segments the server uses itself, so no application may take them. */
export const RESERVED_APP_NAMES = new Set(['api', 'healthz', 'metrics', 'vendor', 'assets', 'admin', 'panel', ...DATA_DIR_NAMES]);

const port = z.number().int().min(0).max(65535);

export const previewSettings = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Take preview images while a stream is live.'),
    periodSeconds: z.number().min(1).max(3600).default(5).describe('Seconds between two preview images.'),
    height: z.number().int().min(16).max(2160).default(480).describe('Height of preview images in pixels (never upscaled).'),
    format: z.enum(['png', 'jpg', 'webp']).default('jpg').describe('Image format of previews and posters.'),
  })
  .prefault({});

export const appSettings = z.strictObject({
  name: z
    .string()
    .regex(APP_NAME, 'must be letters, digits, "-" or "_" (at most 64)')
    .refine((n) => !RESERVED_APP_NAMES.has(n.toLowerCase()), 'is reserved by the server')
    .describe('Application name: the `<app>` of `rtmp://host/<app>/<streamId>`.'),
  mp4MuxingEnabled: z.boolean().default(true).describe('Record each stream to an MP4 file (fragmented while live, faststart when final).'),
  hlsMuxingEnabled: z.boolean().default(true).describe('Write HLS (m3u8 + segments) while live; closed as a VOD playlist at the end.'),
  hlsTime: z.number().min(1).max(60).default(2).describe('Target HLS segment duration in seconds (segments are cut on keyframes).'),
  recordSegmentSeconds: z
    .number()
    .int()
    .min(0)
    .max(86_400)
    .refine((v) => v === 0 || v >= 5, 'must be 0 (one MP4 per publish) or at least 5 seconds')
    .default(3600)
    .describe('Seconds of one MP4 part: a long recording is stored as consecutive parts, each closed at the next keyframe after this long, finalized and uploaded while the stream goes on. 0 = one MP4 per publish.'),
  hlsWindowSeconds: z
    .number()
    .int('must be a whole number of seconds')
    .min(0)
    .max(604_800)
    .refine((v) => v === 0 || v >= 6, 'must be 0 (unbounded) or at least 6 seconds (three 2-second HLS segments)')
    .default(600)
    .describe("With parts on (`recordSegmentSeconds` > 0), seconds of HLS kept on local disk while live: ffmpeg's playlist lists this window and deletes older segments, so a 24/7 stream does not fill the disk with HLS. With `hlsLiveUpload` the bucket's playlist still covers the whole recording; without it the VOD playlist keeps the last window (the whole recording plays from the MP4 parts, /playback). 0 = unbounded."),
  hlsLiveUpload: z.boolean().default(false).describe("Upload each HLS segment as soon as it closes and keep the bucket's playlist at most one segment behind, so the live stream plays from the bucket (needs `s3.upload.hls`). Costs about 3600 / hlsTime × 2 PUTs per hour."),
  previews: previewSettings.describe('Preview images and the poster of each recording.'),
  ...appStorageFields,
  ...forwardingFields,
  ...publishSecurityFields,
  ...webhookFields,
  ...playbackFields,
  ...destinationFields,
  whip: whipAppSettings.describe('WebRTC (WHIP) publishers of this app.'),
  maxPublishers: z.number().int().min(0).max(100_000).default(0).describe('Live publishers this app takes at once (0: no cap).'),
}).superRefine(checkForwarding);

/** Caps on what clients may hold at once (0: no cap). Per address: IPv6 by /64; 127.0.0.1 and ::1 are not capped per address. */
export const limitSettings = z
  .strictObject({
    httpConnections: z.number().int().min(0).max(1_000_000).default(4096).describe('Open HTTP connections, all clients.'),
    httpConnectionsPerIp: z.number().int().min(0).max(1_000_000).default(512).describe('Open HTTP connections from one address (a reverse proxy on another machine counts as one: raise it or set 0 there).'),
    rtmpConnections: z.number().int().min(0).max(1_000_000).default(1024).describe('Open RTMP connections, all clients (a connection that has not published yet counts too).'),
    rtmpConnectionsPerIp: z.number().int().min(0).max(1_000_000).default(32).describe('Open RTMP connections from one address.'),
    whipSessions: z.number().int().min(0).max(100_000).default(256).describe('WHIP sessions (peer connections, including those still negotiating), all clients.'),
    whipSessionsPerIp: z.number().int().min(0).max(100_000).default(8).describe('WHIP sessions from one address.'),
    publishersPerIp: z.number().int().min(0).max(100_000).default(16).describe('Live publishers (RTMP and WHIP) from one address.'),
  })
  .prefault({});

export const serverSettings = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP and RTMP listeners bind to.'),
    httpPort: port.default(5080).describe('HTTP port: player, files, API (0 picks a free port).'),
    rtmpPort: port.default(1935).describe('RTMP ingest port (0 picks a free port).'),
    rtmpsPort: port.optional().describe('RTMPS (RTMP over TLS) ingest port; off unless set (0 picks a free port). Needs `tlsCertFile` and `tlsKeyFile`.'),
    tlsCertFile: z.string().min(1).optional().describe('PEM certificate (with its chain) for RTMPS; re-read on SIGHUP.'),
    tlsKeyFile: z.string().min(1).optional().describe('PEM private key for RTMPS; re-read on SIGHUP.'),
    dataDir: z.string().min(1).default('./data').describe('Where recordings, previews and the database live.'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
    ffmpegPath: z.string().min(1).default('ffmpeg').describe('ffmpeg binary.'),
    ffprobePath: z.string().min(1).default('ffprobe').describe('ffprobe binary.'),
    shutdownTimeoutSeconds: z.number().min(1).max(600).default(8).describe('Seconds a graceful shutdown may take before the process exits anyway.'),
    rtmpIdleTimeoutSeconds: z.number().min(1).max(600).default(10).describe('Seconds without a byte from an RTMP publisher before it is dropped.'),
    httpHeadersTimeoutSeconds: z.number().min(1).max(600).default(20).describe("Seconds an HTTP client has to send a request's headers (an idle new connection is closed after this)."),
    minFreeDiskMiB: z.number().min(0).max(1_048_576).default(512).describe("Free space (MiB) the data dir's disk must have for a new publisher to be accepted."),
    limits: limitSettings.describe('Connection, session and publisher caps.'),
    playbackMaxDurationSeconds: z.number().int().min(1).max(7 * 86_400).default(14_400).describe('Longest span (seconds) one time-range playback request (`/<app>/playback/<streamId>.mp4|.m3u8`) may ask for.'),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// (or postgresql://) URL' })
      .optional()
      .describe('`postgres://user:password@host:port/db`: keep the catalog, queues and settings in PostgreSQL, shared by several nodes, instead of `<dataDir>/bucketcast.db` (SQLite). Never logged with its password.'),
    internalUrl: z
      .string()
      .regex(/^https?:\/\/[^\s/?#]+\/?$/, { message: 'must be an http:// or https:// origin, e.g. http://10.0.0.5:8080' })
      .optional()
      .describe("Where the other nodes reach this node's HTTP port (`http://10.0.0.5:8080`), for files still on its disk. Default: `http://<host>:<httpPort>` when `host` is one address, else `http://<hostname>:<httpPort>`."),
    trustProxy: z.union([z.boolean(), z.number().int().min(0).max(100), z.string().min(1), z.array(z.string().min(1)).min(1)]).default('loopback').describe("Which proxies' X-Forwarded-For/-Proto are believed (express's `trust proxy`): `loopback` (a proxy on this machine), a list of addresses/CIDRs, a hop count, true (any: only behind a proxy that overwrites them) or false."),
    playerFrameAncestors: z.array(z.string().regex(/^('none'|'self'|\*|https?:\/\/[^\s;,']+|[a-z0-9.*-]+(:\d+)?)$/i, "must be 'none', 'self', * or an origin")).min(1).default(['*']).describe('Where play.html may be embedded (CSP frame-ancestors sources); publish.html never may.'),
  })
  .superRefine((s, ctx) => {
    if (s.rtmpsPort === undefined) return;
    for (const key of ['tlsCertFile', 'tlsKeyFile'] as const) {
      if (!s[key]) ctx.addIssue({ code: 'custom', path: [key], message: `server.rtmpsPort needs server.${key} (or BUCKETCAST_TLS_${key === 'tlsCertFile' ? 'CERT' : 'KEY'}_FILE)` });
    }
  })
  .prefault({});

export const configSchema = z.strictObject({
  server: serverSettings.describe('Listeners, the data dir, binaries, timeouts, client caps and the database.'),
  storage: storageSettings.describe('The upload machinery, server-wide (where each application uploads is `applications[].s3`).'),
  api: apiSettings.describe('The admin API: sessions, login throttling, metrics, webhook delivery.'),
  whip: whipServerSettings.describe('WebRTC (WHIP) publishing, server-wide (per application: `applications[].whip`).'),
  applications: z
    // `sources` is in the config file only: the API keeps them apart (src/sources), and an app's settings never hold a source's URL.
    .array(appSettings.extend({ sources: sourcesField }).superRefine(checkForwarding))
    .min(1)
    .prefault([{ name: 'live' }])
    .superRefine((apps, ctx) => {
      const seen = new Set<string>();
      apps.forEach((a, i) => {
        if (seen.has(a.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate application "${a.name}"` });
        seen.add(a.name);
      });
    })
    .describe('One entry per application (default: one named `live`). An app created or changed through the API is kept in the database and from then on replaces its entry here.'),
});

export type Config = z.output<typeof configSchema>;
export type ServerSettings = z.output<typeof serverSettings>;
export type AppSettings = z.output<typeof appSettings>;
export type PreviewSettings = z.output<typeof previewSettings>;
