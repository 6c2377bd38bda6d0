// @ts-check
/**
 * The fields of each application settings form, by the settings' own key
 * names (the config file's schema; the server validates every value).
 */

const ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control'];

/** Recording and previews. */
/** @typedef {import('../../../types.js').FieldGroup} FieldGroup */
/** @typedef {import('../../../types.js').Values} Values */

/** @type {FieldGroup[]} */
export const RECORDING_GROUPS = [
  {
    legend: 'Recording',
    fields: [
      { path: 'mp4MuxingEnabled', type: 'checkbox', label: 'Record live streams as MP4', help: 'mp4MuxingEnabled: a crash-safe MP4 per stream.' },
      { path: 'hlsMuxingEnabled', type: 'checkbox', label: 'Write HLS', help: 'hlsMuxingEnabled: live HLS, kept as a VOD playlist at the end.' },
      { path: 'hlsTime', type: 'number', label: 'HLS segment length (seconds)', min: 1, max: 60, help: 'hlsTime, 1–60 (segments are cut on keyframes).' },
      { path: 'recordSegmentSeconds', type: 'number', label: 'MP4 part length (seconds)', min: 0, max: 86400, step: 1, help: 'recordSegmentSeconds: long recordings are stored and uploaded part by part while live; 0 = one MP4 per publish.', showIf: (v) => v.mp4MuxingEnabled },
      { path: 'hlsLiveUpload', type: 'checkbox', label: 'Upload HLS while live', help: 'hlsLiveUpload: each segment goes to the bucket as it closes (about 2 PUTs per segment).', showIf: (v) => v.hlsMuxingEnabled },
      { path: 'whip.requireMp4', type: 'checkbox', label: 'Transcode WebRTC VP8/VP9 to H.264 (MP4)', help: 'whip.requireMp4: otherwise VP8/VP9 publishers are recorded as WebM.' },
    ],
  },
  {
    legend: 'Previews',
    fields: [
      { path: 'previews.enabled', type: 'checkbox', label: 'Take preview images', help: 'previews.enabled: live thumbnails and each recording’s poster.' },
      { path: 'previews.periodSeconds', type: 'number', label: 'Seconds between previews', min: 1, max: 3600, showIf: (v) => v.previews.enabled },
      { path: 'previews.height', type: 'number', label: 'Preview height (pixels)', min: 16, max: 2160, step: 1, showIf: (v) => v.previews.enabled },
      {
        path: 'previews.format',
        type: 'select',
        label: 'Image format',
        options: [
          { value: 'jpg', label: 'JPEG' },
          { value: 'png', label: 'PNG' },
          { value: 'webp', label: 'WebP' },
        ],
        showIf: (v) => v.previews.enabled,
      },
    ],
  },
];

/** HTTP forwarding (Ant Media's key names) and CORS. */
/** @type {FieldGroup[]} */
export const FORWARDING_GROUPS = [
  {
    legend: 'HTTP forwarding',
    intro: 'When a file is no longer on this server’s disk (uploaded in primary mode), requests for /<app>/streams/… and /<app>/previews/… are forwarded to the bucket, so every recording keeps one URL.',
    fields: [
      { path: 'httpForwardingExtension', label: 'Forwarded extensions', placeholder: 'mp4,m3u8', help: 'httpForwardingExtension: comma-separated, e.g. mp4,m3u8,jpg. Empty forwards nothing.' },
      {
        path: 'httpForwardingBaseURL',
        label: 'Base URL',
        placeholder: 'https://mybucket.s3.us-east-1.amazonaws.com',
        help: 'httpForwardingBaseURL: the bucket or a CDN in front of it. Empty: the app’s own bucket through this server.',
        wide: true,
      },
      {
        path: 'httpForwardingMode',
        type: 'select',
        label: 'Mode',
        options: [
          { value: 'auto', label: 'auto (redirect with a base URL, else proxy)' },
          { value: 'redirect', label: 'redirect (302 to the base URL)' },
          { value: 'presigned', label: 'presigned (302 to a signed URL of the bucket)' },
          { value: 'proxy', label: 'proxy (this server streams the object)' },
        ],
        help: 'httpForwardingMode',
      },
      { path: 'httpForwardingPresignExpirySeconds', type: 'number', label: 'Signed URL lifetime (seconds)', min: 1, max: 604800, step: 1, help: 'httpForwardingPresignExpirySeconds, at most 7 days.' },
    ],
  },
  {
    legend: 'CORS (pages on other sites)',
    fields: [
      { path: 'cors.allowedOrigins', type: 'list', label: 'Allowed origins', placeholder: 'https://www.example.com', help: 'cors.allowedOrigins: one per line, or * for any page. Empty sends no CORS headers.', wide: true },
      { path: 'cors.maxAgeSeconds', type: 'number', label: 'Preflight cache (seconds)', min: 0, max: 86400, step: 1, help: 'cors.maxAgeSeconds' },
    ],
  },
  {
    legend: 'Who may watch',
    intro: 'Private: every media URL of the app needs a viewing token (?token=), minted through the API; this panel and its player mint their own.',
    fields: [
      {
        path: 'playback.access',
        type: 'select',
        label: 'Viewing',
        options: [
          { value: 'public', label: 'public: anyone with the URL' },
          { value: 'signed', label: 'private: a signed viewing token is needed' },
        ],
        help: 'playback.access',
      },
      { path: 'playback.maxTokenLifetimeSeconds', type: 'number', label: 'Longest viewing token lifetime (seconds)', min: 60, max: 604800, step: 1, help: 'playback.maxTokenLifetimeSeconds, 60 s to 7 days.', showIf: (v) => v.playback.access === 'signed' },
      { path: 'playback.keyGeneration', type: 'number', label: 'Viewing key generation', min: 0, max: 1000000000, step: 1, help: 'playback.keyGeneration: raise it by one to revoke every viewing token of this app at once.', showIf: (v) => v.playback.access === 'signed' },
    ],
  },
];

/** Publish security: the mode (keys, secret and tokens are managed beside the form). */
/** @type {FieldGroup[]} */
export const SECURITY_GROUPS = [
  {
    legend: 'Who may publish',
    fields: [
      {
        path: 'publishSecurity.mode',
        type: 'select',
        label: 'Mode',
        options: [
          { value: 'none', label: 'none: anyone who knows the stream URL' },
          { value: 'streamKeys', label: 'stream keys: a secret key per stream id' },
          { value: 'signedTokens', label: 'signed tokens: HMAC tokens with an expiry' },
        ],
        help: 'publishSecurity.mode. Changing it does not cut publishers that are live.',
      },
      {
        path: 'publishSecurity.maxTokenLifetimeSeconds',
        type: 'number',
        label: 'Longest token lifetime (seconds)',
        min: 60,
        max: 31536000,
        step: 1,
        help: 'Tokens expiring further ahead are refused.',
        showIf: (v) => v.publishSecurity.mode === 'signedTokens',
      },
    ],
  },
];

/** S3 storage. `credentialOptions` lists stored credentials; `newCredentialButton` makes the "New credential" button. */
/**
 * @param {Array<{ value: string, label: string }>} credentialOptions
 * @param {() => Node} newCredentialButton
 * @returns {FieldGroup[]}
 */
export function storageGroups(credentialOptions, newCredentialButton) {
  const on = (/** @type {Values} */ v) => v.s3RecordingEnabled;
  return [
    {
      legend: 'Uploads',
      fields: [
        { path: 's3RecordingEnabled', type: 'checkbox', label: 'Upload recordings to S3', help: 's3RecordingEnabled: every finished recording is uploaded, verified, then (primary mode) deleted locally.' },
      ],
    },
    {
      legend: 'Bucket',
      fields: [
        { path: 's3.bucket', label: 'Bucket name', optional: true, placeholder: 'my-recordings', help: 's3.bucket. Empty: the embedded store on this server (for trying things out).' },
        { path: 's3.region', label: 'Region', placeholder: 'us-east-1', help: 's3.region', suggestions: ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-1', 'auto'] },
        { path: 's3.endpoint', label: 'Endpoint (S3-compatible services)', optional: true, placeholder: 'https://minio.example.com', help: 's3.endpoint. Empty: AWS S3.', showIf: on },
        { path: 's3.forcePathStyle', type: 'checkbox', label: 'Path-style URLs (endpoint/bucket/key)', help: 's3.forcePathStyle: most self-hosted services need it.', showIf: on },
      ],
    },
    {
      legend: 'Credentials',
      fields: [
        {
          path: 's3.credentials.source',
          type: 'select',
          label: 'Credentials',
          options: [
            { value: 'default-chain', label: 'From the server’s environment (AWS default chain)' },
            { value: 'stored', label: 'A stored credential' },
          ],
          help: 's3.credentials.source: the default chain reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role.',
        },
        {
          path: 's3.credentials.credentialId',
          type: 'select',
          label: 'Stored credential',
          optional: true,
          options: credentialOptions,
          showIf: (v) => v.s3.credentials.source === 'stored',
          extra: newCredentialButton,
          help: 's3.credentials.credentialId (kept encrypted; manage them under Credentials).',
        },
        { path: 's3.credentials.roleArn', label: 'Assume role (ARN)', optional: true, placeholder: 'arn:aws:iam::123456789012:role/uploader', help: 'Optional: STS AssumeRole with the credentials above.' },
        { path: 's3.credentials.externalId', label: 'External id', optional: true, help: 'Only with a role, when its trust policy asks for one.' },
        { path: 's3.credentials.stsEndpoint', label: 'STS endpoint', optional: true, help: 'Only with a role on MinIO/Ceph.' },
      ],
    },
    {
      legend: 'Object keys',
      fields: [
        { path: 's3.prefix', label: 'Key prefix', placeholder: 'recordings', help: 's3.prefix: leading folder of every key.' },
        { path: 's3.keyTemplates.streams', label: 'Recording key template', help: 'Tokens {app} {streamId} {recordingId} {yyyy} {mm} {dd} {HH}; must end with {name}.{ext}.', wide: true },
        { path: 's3.keyTemplates.previews', label: 'Preview key template', wide: true },
      ],
    },
    {
      legend: 'What is uploaded',
      fields: [
        { path: 's3.upload.mp4', type: 'checkbox', label: 'MP4 (or WebM)' },
        { path: 's3.upload.hls', type: 'checkbox', label: 'HLS playlist and segments' },
        { path: 's3.upload.previews', type: 'checkbox', label: 'Previews and poster' },
        { path: 's3.upload.metadata', type: 'checkbox', label: 'Metadata sidecar (JSON)' },
      ],
    },
    {
      legend: 'Objects',
      fields: [
        { path: 's3.storageClass', label: 'Storage class', optional: true, placeholder: 'bucket default', suggestions: ['STANDARD', 'STANDARD_IA', 'INTELLIGENT_TIERING', 'ONEZONE_IA', 'GLACIER_IR'], help: 's3.storageClass' },
        { path: 's3.acl', type: 'select', label: 'Canned ACL', optional: true, options: [{ value: '', label: 'none (recommended on AWS)' }, ...ACLS.map((a) => ({ value: a, label: a }))], help: 's3.acl' },
        { path: 's3.cacheControl', label: 'Cache-Control', optional: true, placeholder: 'max-age=31536000', help: 's3.cacheControl' },
        {
          path: 's3.sse.mode',
          type: 'select',
          label: 'Server-side encryption',
          options: [
            { value: 'none', label: 'none (the bucket default)' },
            { value: 'AES256', label: 'SSE-S3 (AES256)' },
            { value: 'aws:kms', label: 'SSE-KMS (aws:kms)' },
          ],
          help: 's3.sse.mode',
        },
        { path: 's3.sse.kmsKeyId', label: 'KMS key id or ARN', optional: true, help: 'Empty: the bucket’s default key.', showIf: (v) => v.s3.sse.mode === 'aws:kms' },
      ],
    },
    {
      legend: 'Local copies',
      fields: [
        {
          path: 's3.storageMode',
          type: 'select',
          label: 'Storage mode',
          options: [
            { value: 'primary', label: 'primary: delete the local copy once the upload is verified' },
            { value: 'dual', label: 'dual: keep local copies for a while' },
          ],
          help: 's3.storageMode',
        },
        { path: 's3.dualRetentionDays', type: 'number', label: 'Keep local copies (days)', min: 0.001, max: 36500, help: 's3.dualRetentionDays', showIf: (v) => v.s3.storageMode === 'dual' },
      ],
    },
    {
      legend: 'Advanced',
      fields: [
        {
          path: 's3.checksumCalculation',
          type: 'select',
          label: 'Flexible checksums',
          options: [
            { value: 'WHEN_REQUIRED', label: 'WHEN_REQUIRED (works everywhere)' },
            { value: 'WHEN_SUPPORTED', label: 'WHEN_SUPPORTED (CRC32 on every part)' },
          ],
          help: 's3.checksumCalculation: some S3-compatible servers refuse CRC32 headers.',
        },
        { path: 's3.partSizeMiB', type: 'number', label: 'Part size (MiB)', min: 5, max: 5120, step: 1, help: 's3.partSizeMiB' },
        { path: 's3.queueSize', type: 'number', label: 'Parts in flight per file', min: 1, max: 32, step: 1, help: 's3.queueSize' },
      ],
    },
  ];
}
