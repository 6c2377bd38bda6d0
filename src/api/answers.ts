/**
 * The API's answers as zod schemas, each shape declared once: a route's
 * `responses` name them, the OpenAPI document is generated from them (a
 * schema with `meta({ id })` is a component, referred to by `$ref`), and with
 * `BUCKETCAST_CHECK_ANSWERS=1` every JSON answer is checked against them
 * (src/api/http.ts). Objects let unknown fields through (`z.object`), like the
 * document (no `additionalProperties`); the application settings are the
 * config file's own strict schema.
 */
import { z } from 'zod';
import { appSettings } from '../config/schema.js';
import { webhookSettings, WEBHOOK_EVENTS } from '../config/webhooks-schema.js';
import { isoDateTime as iso } from './schema.js';

const str = (description?: string) => (description ? z.string().describe(description) : z.string());
const int = (description?: string) => (description ? z.int().describe(description) : z.int());
const num = (description?: string) => (description ? z.number().describe(description) : z.number());
const bool = (description?: string) => (description ? z.boolean().describe(description) : z.boolean());

/** `{error: {code, message, details?}}`: every error answer. */
export const ErrorAnswer = z
  .object({
    error: z.object({
      code: str('stable machine-readable code'),
      message: str('what went wrong, in plain words (names the field for bad input)'),
      details: z.array(z.object({ path: str('e.g. s3.bucket or webhooks[0].secret'), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** A webhook as answers show it: `hasSecret` in place of its secret. */
const WebhookView = webhookSettings.omit({ secret: true }).extend({
  hasSecret: bool('read-only: a secret is set (it is never returned; send a webhook without `secret` to keep it)'),
});

/**
 * Application settings with every default filled in. Checked by the config
 * file's schema (its webhooks without their secrets); documented as that
 * schema's output (every field there, so required).
 */
export const AppSettingsView = appSettings.safeExtend({ webhooks: z.array(WebhookView) } as never).meta({
  id: 'AppSettingsView',
  ...settingsViewDocument(),
  description: 'Application settings with every default filled in; webhook secrets replaced by `hasSecret`.',
});

/** The view's document: the config schema's output (defaults filled, so every field present), the webhooks' `secret` replaced by `hasSecret`. */
function settingsViewDocument(): Record<string, unknown> {
  const out = z.toJSONSchema(appSettings, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };
  delete out.$schema;
  const hook = (out.properties.webhooks as { items: { properties: Record<string, unknown>; required: string[] } }).items;
  delete hook.properties.secret;
  hook.properties.hasSecret = z.toJSONSchema(WebhookView.shape.hasSecret);
  delete (hook.properties.hasSecret as Record<string, unknown>).$schema;
  hook.required = hook.required.filter((r) => r !== 'secret').concat('hasSecret');
  return out;
}

export const PublishUrls = z
  .object({
    rtmp: z.object({ server: str('OBS "Server"'), streamKey: str('OBS "Stream Key" (with the credential)').optional(), url: str('the whole RTMP URL (ffmpeg)').optional() }),
    whip: z.object({ url: z.string(), bearerToken: str('the credential, as WHIP\'s Bearer token').optional() }).optional(),
  })
  .meta({ id: 'PublishUrls' });

export const Application = z
  .object({
    name: z.string(),
    source: z.enum(['config', 'api']).describe('config: as the config file says; api: saved through the API (overrides the file)'),
    liveStreams: z.int(),
    publish: z.object({ rtmp: z.object({ server: str('OBS "Server"') }) }),
    settings: AppSettingsView,
  })
  .meta({ id: 'Application' });

export const StreamKey = z.object({ app: z.string(), streamId: z.string(), hint: str('first characters of the key'), createdAt: iso(), lastUsedAt: iso().nullable() }).meta({ id: 'StreamKey' });

export const NewStreamKey = z
  .intersection(StreamKey, z.object({ key: str('the key, shown only in this answer'), replaced: bool('an earlier key of this stream id was replaced'), publish: PublishUrls }))
  .meta({ id: 'NewStreamKey' });

export const PublishToken = z.object({ token: str('<expiry>.<hex HMAC-SHA256>'), streamId: z.string(), expiresAt: iso(), publish: PublishUrls }).meta({ id: 'PublishToken' });

const PROTOCOL = 'rtmp | whip | srt (pushed or pulled) | rtsp | hls (pulled sources) | import';
const Video = z.object({ codec: z.string(), width: z.int().optional(), height: z.int().optional(), fps: z.number().nullable().optional() }).nullable();

export const Stream = z
  .object({
    app: z.string(),
    streamId: z.string(),
    node: str('the node it is live on (this one)'),
    protocol: str(PROTOCOL),
    sessionId: z.string(),
    remoteAddress: z.string(),
    startedAt: iso(),
    durationSeconds: z.number(),
    video: Video,
    audio: z.object({ codec: z.string() }).nullable(),
    bitrate: int('bits per second over the last seconds'),
    bytesIn: z.int(),
    recording: z.object({ recordingId: z.string(), name: z.string(), startedAt: iso() }).nullable(),
    urls: z.object({ hls: str('live playlist'), preview: str('latest preview image'), player: z.string() }),
  })
  .meta({ id: 'Stream' });

const FILE_STATES = ['local', 'queued', 'uploading', 'uploaded', 'failed'] as const;
const fileState = z.enum(FILE_STATES).describe('local | queued | uploading | uploaded | failed');

export const RecordingPart = z
  .object({
    part: int('1, 2, … in time order'),
    name: str('<name>_p0001.mp4 (or <name>.mp4 for a recording of one part)'),
    startedAt: iso('wall clock'),
    endedAt: iso('wall clock'),
    durationSeconds: z.number(),
    offsetSeconds: num('from the recording\'s start'),
    size: z.int(),
    url: str('stable URL (served from disk, or forwarded to the bucket)'),
    state: fileState,
    local: bool('a local copy exists'),
    key: z.string().nullable(),
  })
  .meta({ id: 'RecordingPart' });

export const RecordingSummary = z
  .object({
    recordingId: z.string(),
    node: str('the node that recorded it'),
    app: z.string(),
    streamId: z.string(),
    protocol: str(PROTOCOL),
    name: str('base name of the files: <streamId>_<UTC start>'),
    startedAt: iso(),
    endedAt: iso(),
    durationSeconds: z.number(),
    sizeBytes: z.int(),
    video: Video,
    audio: z.object({ codec: z.string(), sampleRate: z.int().optional(), channels: z.int().optional() }).nullable(),
    recovered: bool('finalized at start-up after a crash (interrupted)'),
    createdAt: iso('when the catalog learnt of it'),
    inProgress: bool('still recorded: parts are added as they close'),
    parts: z.array(RecordingPart),
    uploadState: z.enum(FILE_STATES).describe('what the recording\'s files add up to: uploading > failed > queued > uploaded > local'),
    fileCounts: z.object({ local: z.int(), queued: z.int(), uploading: z.int(), uploaded: z.int(), failed: z.int() }),
    urls: z.object({ mp4: str('main file (MP4, else WebM)').nullable(), hls: z.string().nullable(), poster: z.string().nullable(), player: str('the player page') }),
  })
  .meta({ id: 'RecordingSummary' });

export const RecordingFile = z
  .object({
    id: z.int(),
    kind: str('mp4 | webm | hls-playlist | hls-segment | preview | poster | metadata'),
    name: z.string(),
    size: z.int(),
    url: str('stable URL (served from disk, or forwarded to the bucket)'),
    state: fileState,
    local: bool('a local copy exists'),
    progress: z.object({ loaded: z.int(), total: z.int() }).nullable(),
    bucket: z.string().nullable(),
    key: z.string().nullable(),
    objectUrl: z.string().nullable(),
    sha256: z.string().nullable(),
    etag: z.string().nullable(),
    verifiedBy: str('head | upload-response').nullable(),
    attempts: int('failed attempts so far'),
    lastError: z.string().nullable(),
    errorCode: z.string().nullable(),
    errorClass: str('retryable | permanent').nullable(),
    nextAttemptAt: iso().nullable(),
    uploadedAt: iso().nullable(),
    localDeletedAt: iso().nullable(),
  })
  .meta({ id: 'RecordingFile' });

export const Recording = z.intersection(RecordingSummary, z.object({ files: z.array(RecordingFile) })).meta({ id: 'Recording' });

export const RecordingDeletion = z.object({ recordingId: z.string(), objectsDeleted: z.int(), objectsKept: z.int(), localFilesDeleted: z.int() }).meta({ id: 'RecordingDeletion' });

export const ValidationReport = z
  .object({
    ok: bool('no step failed: uploads will work'),
    app: z.string(),
    target: z.object({
      bucket: z.string(),
      region: z.string(),
      endpoint: z.string().optional(),
      prefix: z.string(),
      embedded: z.boolean(),
      credentials: str('where the credentials come from (never the secret)').optional(),
    }),
    key: str('key of the test object').optional(),
    steps: z.array(
      z.object({
        step: str('bucket name | credentials | write | head | read | delete'),
        status: z.enum(['ok', 'failed', 'denied', 'skipped']).describe('ok | failed | denied | skipped'),
        message: z.string(),
        code: z.string().optional(),
        durationMs: z.int(),
      }),
    ),
    summary: z.string(),
  })
  .meta({ id: 'ValidationReport' });

export const Credential = z
  .object({
    sid: z.string().regex(/^CR[0-9a-fA-F]{32}$/).describe('CR + 32 hex digits'),
    friendlyName: z.string(),
    accessKeyIdHint: str('first and last characters of the access key id'),
    dateCreated: iso(),
    dateUpdated: iso(),
    url: z.string(),
    usedBy: z.array(str('application whose s3.credentials.credentialId, a destinations rule or the output of one of its sources names it')),
  })
  .meta({ id: 'Credential' });

export const Delivery = z
  .object({
    id: str('evt_…: the `id` in the body'),
    app: z.string(),
    event: str([...WEBHOOK_EVENTS, 'ping'].join(' | ')),
    url: z.string(),
    state: z.enum(['pending', 'delivering', 'delivered', 'failed']).describe('pending | delivering | delivered | failed'),
    attempts: z.int(),
    nextAttemptAt: iso().nullable(),
    lastStatus: z.int().nullable(),
    lastError: z.string().nullable(),
    createdAt: iso(),
    deliveredAt: iso().nullable(),
  })
  .meta({ id: 'Delivery' });

/** A destination as it may be shown: never a key, a secret or a signature. */
export const Destination = z
  .object({
    kind: str('presigned-put | s3'),
    url: str('the pre-signed URL without its query, or the s3:// URL'),
    expiresAt: z.string().nullable().optional(),
    maxBytes: z.int().optional(),
    bucket: z.string().optional(),
    prefix: z.string().optional(),
    endpoint: z.string().nullable().optional(),
    region: z.string().nullable().optional(),
    credentials: str('in-line | app | the stored credential id').optional(),
  })
  .describe('A destination as it may be shown: never a key, a secret or a signature');

/** One destination's check (POST …/destinations/validate). */
export const DestinationValidation = z.object({
  destination: Destination,
  ok: bool('uploads to it will work (as far as could be checked)'),
  summary: z.string(),
  report: ValidationReport.optional(),
  rule: int('index in the app\'s destinations (rules only)').optional(),
  streamId: str('the rule\'s stream-id pattern (rules only)').optional(),
});

/** Where a source's or an import's recordings go, as shown. */
const Shown = Destination.nullable().describe('Where its recordings go, never with a key, a secret or a signature; null: the app\'s destination rules, else its bucket');

export const Source = z
  .object({
    app: z.string(),
    streamId: z.string(),
    url: str('the URL with its password, SRT passphrase and signature parameters masked (`***`); null when it cannot be decrypted').nullable(),
    kind: str('rtsp | rtmp | hls | srt-caller | srt-listener').nullable(),
    protocol: str('rtsp | rtmp | hls | srt').nullable(),
    enabled: z.boolean(),
    onDemand: z.boolean(),
    rtspTransport: str('tcp | udp'),
    origin: str('config (read-only here) | api'),
    state: str('disabled | idle | connecting | live | failed'),
    lastError: z.string().nullable(),
    since: iso('when the state began'),
    nextAttemptAt: iso('failed: when the next attempt is').nullable(),
    sessionId: str('live: the publisher session (see /streams)').nullable(),
    output: Shown,
  })
  .meta({ id: 'Source' });

export const Import = z
  .object({
    importId: z.string(),
    app: z.string(),
    streamId: z.string(),
    url: str('masked like a source URL (a pre-signed URL\'s signature is hidden)'),
    state: str('reading | recorded | completed | failed'),
    seconds: num('media read so far'),
    durationSeconds: z.number().nullable(),
    progress: num('0–1').nullable(),
    recordingId: str('once recorded').nullable(),
    error: z.string().nullable(),
    createdAt: iso(),
    finishedAt: iso().nullable(),
    output: Shown,
  })
  .meta({ id: 'Import' });
