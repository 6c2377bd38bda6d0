/**
 * Building blocks of the OpenAPI document (src/api/openapi.ts): small schema
 * helpers and the component schemas, the application settings among them
 * generated from the config schema itself (zod → JSON Schema).
 */
import { z } from 'zod';
import { appSettings } from '../config/schema.js';
import { WEBHOOK_EVENTS } from '../config/webhooks-schema.js';

export type Schema = Record<string, unknown>;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });
export const str = (description?: string, extra: Schema = {}): Schema => ({ type: 'string', ...(description ? { description } : {}), ...extra });
export const int = (description?: string, extra: Schema = {}): Schema => ({ type: 'integer', ...(description ? { description } : {}), ...extra });
export const num = (description?: string): Schema => ({ type: 'number', ...(description ? { description } : {}) });
export const bool = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
export const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
export const arr = (items: Schema): Schema => ({ type: 'array', items });
export const obj = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({ type: 'object', properties, required });
export const iso = (description?: string) => str(description, { format: 'date-time' });

export const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
export const queryParam = (name: string, description: string, schema: Schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
export const APP = pathParam('name', 'application name');
export const STREAM = [pathParam('app', 'application name'), pathParam('streamId', 'stream id')];

/** The document's component schemas. */
export function schemas(): Record<string, Schema> {
  const settingsOutput = z.toJSONSchema(appSettings, { io: 'output', unrepresentable: 'any' }) as Schema & { properties: Record<string, Schema> };
  delete settingsOutput.$schema;
  // Answers never carry a webhook's secret: `hasSecret` stands in for it.
  const hook = (settingsOutput.properties.webhooks as { items: Schema & { properties: Record<string, Schema>; required: string[] } }).items;
  delete hook.properties.secret;
  hook.properties.hasSecret = bool('read-only: a secret is set (it is never returned; send a webhook without `secret` to keep it)');
  hook.required = hook.required.filter((r) => r !== 'secret').concat('hasSecret');
  const video = nullable(obj({ codec: str(), width: int(), height: int(), fps: nullable(num()) }, ['codec']));
  const fileState = str('local | queued | uploading | uploaded | failed', { enum: ['local', 'queued', 'uploading', 'uploaded', 'failed'] });
  const uploadState = str('what the recording\'s files add up to: uploading > failed > queued > uploaded > local', { enum: ['local', 'queued', 'uploading', 'uploaded', 'failed'] });
  const recordingUrls = obj({ mp4: nullable(str('main file (MP4, else WebM)')), hls: nullable(str()), poster: nullable(str()), player: str('the player page') });
  const recordingBase = {
    recordingId: str(),
    node: str('the node that recorded it'),
    app: str(),
    streamId: str(),
    protocol: str('rtmp | whip | srt (pushed or pulled) | rtsp | hls (pulled sources) | import'),
    name: str('base name of the files: <streamId>_<UTC start>'),
    startedAt: iso(),
    endedAt: iso(),
    durationSeconds: num(),
    sizeBytes: int(),
    video,
    audio: nullable(obj({ codec: str(), sampleRate: int(), channels: int() }, ['codec'])),
    recovered: bool('finalized at start-up after a crash (interrupted)'),
    createdAt: iso('when the catalog learnt of it'),
    inProgress: bool('still recorded: parts are added as they close'),
    parts: arr(ref('RecordingPart')),
    uploadState,
    fileCounts: obj({ local: int(), queued: int(), uploading: int(), uploaded: int(), failed: int() }),
    urls: recordingUrls,
  };
  const publishUrls = obj(
    {
      rtmp: obj({ server: str('OBS "Server"'), streamKey: str('OBS "Stream Key" (with the credential)'), url: str('the whole RTMP URL (ffmpeg)') }, ['server']),
      whip: obj({ url: str(), bearerToken: str('the credential, as WHIP\'s Bearer token') }, ['url']),
    },
    ['rtmp'],
  );
  return {
    Error: obj({
      error: obj(
        {
          code: str('stable machine-readable code'),
          message: str('what went wrong, in plain words (names the field for bad input)'),
          details: arr(obj({ path: str('e.g. s3.bucket or webhooks[0].secret'), message: str() })),
        },
        ['code', 'message'],
      ),
    }),
    AppSettingsView: { ...settingsOutput, description: 'Application settings with every default filled in; webhook secrets replaced by `hasSecret`.' },
    Application: obj({
      name: str(),
      source: str('config: as the config file says; api: saved through the API (overrides the file)', { enum: ['config', 'api'] }),
      liveStreams: int(),
      publish: obj({ rtmp: obj({ server: str('OBS "Server"') }) }),
      settings: ref('AppSettingsView'),
    }),
    PublishUrls: publishUrls,
    StreamKey: obj({ app: str(), streamId: str(), hint: str('first characters of the key'), createdAt: iso(), lastUsedAt: nullable(iso()) }),
    NewStreamKey: {
      allOf: [ref('StreamKey'), obj({ key: str('the key, shown only in this answer'), replaced: bool('an earlier key of this stream id was replaced'), publish: ref('PublishUrls') })],
    },
    PublishToken: obj({ token: str('<expiry>.<hex HMAC-SHA256>'), streamId: str(), expiresAt: iso(), publish: ref('PublishUrls') }),
    Stream: obj({
      app: str(),
      streamId: str(),
      node: str('the node it is live on (this one)'),
      protocol: str('rtmp | whip | srt (pushed or pulled) | rtsp | hls (pulled sources) | import'),
      sessionId: str(),
      remoteAddress: str(),
      startedAt: iso(),
      durationSeconds: num(),
      video,
      audio: nullable(obj({ codec: str() })),
      bitrate: int('bits per second over the last seconds'),
      bytesIn: int(),
      recording: nullable(obj({ recordingId: str(), name: str(), startedAt: iso() })),
      urls: obj({ hls: str('live playlist'), preview: str('latest preview image'), player: str() }),
    }),
    RecordingSummary: obj(recordingBase),
    RecordingPart: obj({
      part: int('1, 2, … in time order'),
      name: str('<name>_p0001.mp4 (or <name>.mp4 for a recording of one part)'),
      startedAt: iso('wall clock'),
      endedAt: iso('wall clock'),
      durationSeconds: num(),
      offsetSeconds: num('from the recording\'s start'),
      size: int(),
      url: str('stable URL (served from disk, or forwarded to the bucket)'),
      state: fileState,
      local: bool('a local copy exists'),
      key: nullable(str()),
    }),
    RecordingFile: obj({
      id: int(),
      kind: str('mp4 | webm | hls-playlist | hls-segment | preview | poster | metadata'),
      name: str(),
      size: int(),
      url: str('stable URL (served from disk, or forwarded to the bucket)'),
      state: fileState,
      local: bool('a local copy exists'),
      progress: nullable(obj({ loaded: int(), total: int() })),
      bucket: nullable(str()),
      key: nullable(str()),
      objectUrl: nullable(str()),
      sha256: nullable(str()),
      etag: nullable(str()),
      verifiedBy: nullable(str('head | upload-response')),
      attempts: int('failed attempts so far'),
      lastError: nullable(str()),
      errorCode: nullable(str()),
      errorClass: nullable(str('retryable | permanent')),
      nextAttemptAt: nullable(iso()),
      uploadedAt: nullable(iso()),
      localDeletedAt: nullable(iso()),
    }),
    Recording: { allOf: [ref('RecordingSummary'), obj({ files: arr(ref('RecordingFile')) })] },
    RecordingDeletion: obj({ recordingId: str(), objectsDeleted: int(), objectsKept: int(), localFilesDeleted: int() }),
    ValidationReport: obj(
      {
        ok: bool('no step failed: uploads will work'),
        app: str(),
        target: obj({ bucket: str(), region: str(), endpoint: str(), prefix: str(), embedded: bool(), credentials: str('where the credentials come from (never the secret)') }, ['bucket', 'region', 'prefix', 'embedded']),
        key: str('key of the test object'),
        steps: arr(
          obj(
            {
              step: str('bucket name | credentials | write | head | read | delete'),
              status: str('ok | failed | denied | skipped', { enum: ['ok', 'failed', 'denied', 'skipped'] }),
              message: str(),
              code: str(),
              durationMs: int(),
            },
            ['step', 'status', 'message', 'durationMs'],
          ),
        ),
        summary: str(),
      },
      ['ok', 'app', 'target', 'steps', 'summary'],
    ),
    Credential: obj({
      sid: str('CR + 32 hex digits', { pattern: '^CR[0-9a-fA-F]{32}$' }),
      friendlyName: str(),
      accessKeyIdHint: str('first and last characters of the access key id'),
      dateCreated: iso(),
      dateUpdated: iso(),
      url: str(),
      usedBy: arr(str('application whose s3.credentials.credentialId, a destinations rule or the output of one of its sources names it')),
    }),
    Delivery: obj({
      id: str('evt_…: the `id` in the body'),
      app: str(),
      event: str([...WEBHOOK_EVENTS, 'ping'].join(' | ')),
      url: str(),
      state: str('pending | delivering | delivered | failed', { enum: ['pending', 'delivering', 'delivered', 'failed'] }),
      attempts: int(),
      nextAttemptAt: nullable(iso()),
      lastStatus: nullable(int()),
      lastError: nullable(str()),
      createdAt: iso(),
      deliveredAt: nullable(iso()),
    }),
  };
}

