/**
 * Environment overrides: each public `BUCKETCAST_*` variable and where it lands
 * in the raw config tree before validation.
 */

export interface EnvOverride {
  /** Variable name, part of the public contract. */
  name: string;
  /** How the text is parsed before validation. */
  type: 'string' | 'int' | 'bool';
  /** Writes the parsed value into the raw (unvalidated) config object. */
  apply(raw: Record<string, unknown>, value: unknown): void;
}

function objectAt(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = raw[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  raw[key] = created;
  return created;
}

function server(name: string, key: string, type: EnvOverride['type']): EnvOverride {
  return { name, type, apply: (raw, value) => void (objectAt(raw, 'server')[key] = value) };
}

/**
 * The default application: the first one in the config file, or `live` when the
 * file lists none (the schema's default).
 */
export function defaultApp(raw: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(raw.applications) || raw.applications.length === 0) raw.applications = [{ name: 'live' }];
  const apps = raw.applications as unknown[];
  const first = apps[0];
  if (first && typeof first === 'object' && !Array.isArray(first)) return first as Record<string, unknown>;
  return {};
}

/** A key of the default application's `s3` object. */
function defaultAppS3(name: string, key: string, type: EnvOverride['type']): EnvOverride {
  return { name, type, apply: (raw, value) => void (objectAt(defaultApp(raw), 's3')[key] = value) };
}

export const ENV_OVERRIDES: EnvOverride[] = [
  server('BUCKETCAST_HTTP_PORT', 'httpPort', 'int'),
  server('BUCKETCAST_RTMP_PORT', 'rtmpPort', 'int'),
  server('BUCKETCAST_RTMPS_PORT', 'rtmpsPort', 'int'),
  server('BUCKETCAST_TLS_CERT_FILE', 'tlsCertFile', 'string'),
  server('BUCKETCAST_TLS_KEY_FILE', 'tlsKeyFile', 'string'),
  server('BUCKETCAST_DATA_DIR', 'dataDir', 'string'),
  server('BUCKETCAST_LOG_LEVEL', 'logLevel', 'string'),
  server('BUCKETCAST_HOST', 'host', 'string'),
  server('BUCKETCAST_FFMPEG_PATH', 'ffmpegPath', 'string'),
  server('BUCKETCAST_FFPROBE_PATH', 'ffprobePath', 'string'),
  server('BUCKETCAST_DATABASE_URL', 'databaseUrl', 'string'),
  server('BUCKETCAST_INTERNAL_URL', 'internalUrl', 'string'),
  defaultAppS3('BUCKETCAST_S3_ENDPOINT', 'endpoint', 'string'),
  defaultAppS3('BUCKETCAST_S3_REGION', 'region', 'string'),
  defaultAppS3('BUCKETCAST_S3_BUCKET', 'bucket', 'string'),
  defaultAppS3('BUCKETCAST_S3_FORCE_PATH_STYLE', 'forcePathStyle', 'bool'),
  { name: 'BUCKETCAST_PUBLIC_URL', type: 'string', apply: (raw, value) => void (objectAt(raw, 'api').publicUrl = value) },
  { name: 'BUCKETCAST_EMBEDDED_S3_PORT', type: 'int', apply: (raw, value) => void (objectAt(raw, 'storage').embeddedS3Port = value) },
];
