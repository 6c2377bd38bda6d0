/**
 * Storage validation, after Twilio's test file: check the bucket name, find
 * the credentials, write a small text object where recordings go (PutObject,
 * then again as a multipart upload, which SSE-KMS makes need kms:Decrypt),
 * HEAD it, read it back, list it, probe AbortMultipartUpload, delete it, and
 * say in plain words how each step went and which permissions the
 * credentials have (put, head, get, list, delete, abort multipart), with what
 * each missing one costs.
 *
 * Every probe is safe under the configured prefix: the test object is the
 * only thing written, and the abort probe names the test's own completed
 * upload (404 NoSuchUpload when allowed, 403 when denied), so nothing is
 * left behind that the credentials cannot remove. A step may end `ok`,
 * `failed`, `denied` (the credentials may not do it) or `skipped`. The report
 * is `ok` — uploads will work — when the bucket takes the test object both
 * ways and what could be checked of it is intact; missing permissions are
 * warnings.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { AppSettings } from '../../config/schema.js';
import { bucketNameProblem } from '../../config/storage-schema.js';
import { errorMessage } from '../../errors.js';
import { accessKeyIdHint } from '../../db/key-hint.js';
import { classifyS3Error, type StorageError } from '../targets/errors.js';
import { renderKey } from '../targets/keys.js';
import { objectParams } from '../targets/object-uploader.js';
import { deleteLocalObject, objectPath, putLocalObject } from '../targets/fs-target.js';
import { PartReader } from '../targets/part-reader.js';
import { existsSync, readFileSync } from 'node:fs';
import { PERMISSIONS, permissionCheck, type PermissionCheck, type PermissionName } from './permissions.js';
import { contextOf, type FsTarget, type S3Target, type Target, type TargetResolver } from '../targets/targets.js';

export type { PermissionCheck, PermissionName } from './permissions.js';

export type StepName = 'bucket name' | 'credentials' | 'write' | 'multipart' | 'head' | 'read' | 'list' | 'abort multipart' | 'delete';
export type StepStatus = 'ok' | 'failed' | 'denied' | 'skipped';

const STEPS: StepName[] = ['bucket name', 'credentials', 'write', 'multipart', 'head', 'read', 'list', 'abort multipart', 'delete'];
/** Steps whose failure means uploads will not work (or cannot be trusted). The others only warn. */
const ESSENTIAL: ReadonlySet<StepName> = new Set(['bucket name', 'credentials', 'write', 'multipart', 'head', 'read']);
/** The permission each probing step reports. */
const PERMISSION_OF: Partial<Record<StepName, PermissionName>> = { write: 'put', head: 'head', read: 'get', list: 'list', 'abort multipart': 'abort-multipart', delete: 'delete' };

export interface ValidationStep {
  step: StepName;
  status: StepStatus;
  /** What happened, in plain words. */
  message: string;
  /** Stable error code when it did not go well (`access_denied`, `wrong_region` …). */
  code?: string;
  durationMs: number;
}

export interface ValidationReport {
  /** Uploads will work: the test object went in both ways and what could be read of it is intact. */
  ok: boolean;
  app: string;
  target: { bucket: string; region: string; endpoint?: string; prefix: string; embedded: boolean; credentials?: string };
  /** Key of the test object. */
  key?: string;
  steps: ValidationStep[];
  /** put, head, get, list, delete, abort-multipart: allowed, denied or unknown (not tried), with the cost of each denied one. */
  permissions: PermissionCheck[];
  /** What the missing permissions and failed optional checks cost, one sentence each. */
  warnings: string[];
  /** One sentence. */
  summary: string;
}

type Outcome = { status: StepStatus; message: string; code?: string };

/** Runs the checks for an app's current storage settings. */
export async function validateStorage(app: AppSettings, resolver: TargetResolver): Promise<ValidationReport> {
  const s = app.s3;
  const steps: ValidationStep[] = [];
  const report: ValidationReport = {
    ok: false,
    app: app.name,
    target: { bucket: s.bucket ?? '(local store)', region: s.region, endpoint: s.endpoint, prefix: s.prefix, embedded: !s.bucket },
    steps,
    permissions: [],
    warnings: [],
    summary: '',
  };
  const finish = (summary?: string): ValidationReport => {
    for (const name of STEPS) {
      if (!steps.some((x) => x.step === name)) steps.push({ step: name, status: 'skipped', message: 'not tried (an earlier step failed)', durationMs: 0 });
    }
    steps.sort((a, b) => STEPS.indexOf(a.step) - STEPS.indexOf(b.step));
    const where = report.key ? `s3://${report.target.bucket}/${report.key}` : 'the bucket';
    report.permissions = (Object.keys(PERMISSIONS) as PermissionName[]).map((permission) => {
      const x = steps.find((y) => PERMISSION_OF[y.step] === permission)!;
      // A check that ran into a mismatch was allowed to run; a denied write fails the check but is a denial all the same.
      const status = x.status === 'ok' || x.code === 'integrity_mismatch' ? 'allowed' : x.status === 'denied' || x.code === 'access_denied' ? 'denied' : 'unknown';
      return permissionCheck(permission, status, where);
    });
    const failedOptional = steps.filter((x) => x.status === 'failed' && !ESSENTIAL.has(x.step));
    report.warnings = [...report.permissions.flatMap((p) => (p.cost && p.permission !== 'put' ? [p.cost] : [])), ...failedOptional.map((x) => x.message)];
    report.ok = !steps.some((x) => x.status === 'failed' && ESSENTIAL.has(x.step));
    const missing = report.permissions.filter((p) => p.status === 'denied').map((p) => p.permission);
    report.summary =
      summary ??
      (!report.ok
        ? 'the bucket accepted the test object, but a later check failed'
        : missing.length
          ? `bucketcast can upload here; missing: ${missing.join(', ')} (see the warnings for what each costs)`
          : failedOptional.length
            ? 'bucketcast can upload here; some optional checks failed (see the warnings)'
            : 'bucketcast can upload, verify, read, list, abort and delete here');
    return report;
  };

  // 1. Bucket name, before any request: 7-bit ASCII only.
  const problem = s.bucket === undefined ? null : bucketNameProblem(s.bucket);
  if (problem) {
    steps.push({ step: 'bucket name', status: 'failed', code: 'bad_bucket_name', message: `bucket name "${s.bucket}" ${problem}`, durationMs: 0 });
    return finish('the bucket name is not usable; nothing was sent');
  }
  steps.push({ step: 'bucket name', status: 'ok', message: s.bucket ? `"${s.bucket}" is a usable bucket name` : 'no bucket set: recordings go to the local store (plain files under the data dir\'s bucket/ folder)', durationMs: 0 });

  // 2. Credentials.
  let t: Target;
  let t0 = Date.now();
  try {
    t = await resolver.resolve(app);
    report.target = { bucket: t.bucket, region: t.region, endpoint: t.endpoint, prefix: t.prefix, embedded: t.embedded, credentials: t.credentialSource };
    if (t.kind === 'fs') {
      steps.push({ step: 'credentials', status: 'ok', message: 'the local store needs none', durationMs: 0 });
      return finish(await validateLocal(t, app, steps, report));
    }
    const id = await t.client.config.credentials();
    steps.push({ step: 'credentials', status: 'ok', message: `found credentials (${t.credentialSource}, access key ${accessKeyIdHint(id.accessKeyId)})`, durationMs: Date.now() - t0 });
  } catch (err) {
    const e = classifyS3Error(err, { operation: 'find credentials', bucket: s.bucket ?? '', region: s.region, endpoint: s.endpoint });
    steps.push({ step: 'credentials', status: 'failed', code: e.code, message: e.message, durationMs: Date.now() - t0 });
    return finish('no usable credentials');
  }

  // 3. Write the test object where recordings go (the streams template), with the app's encryption, ACL and class.
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const fileName = `bucketcast-validation-${stamp}-${randomBytes(3).toString('hex')}.txt`;
  const key = renderKey(t.prefix, s.keyTemplates.streams, { app: app.name, streamId: 'validation', recordingId: 'validation', startedAt: new Date().toISOString(), fileName });
  report.key = key;
  const body = Buffer.from(`bucketcast wrote this object at ${new Date().toISOString()} to check that it can store recordings in this bucket. It is safe to delete.\n`);
  // Content-MD5 as on every upload (object-lock buckets require it; every service checks it).
  const md5 = createHash('md5').update(body).digest('base64');
  const where = `s3://${t.bucket}/${key}`;
  const params = () => objectParams(t, key, 'text/plain; charset=utf-8', { purpose: 'bucketcast-validation' });
  t0 = Date.now();
  try {
    await t.client.send(new PutObjectCommand({ ...params(), Body: body, ContentMD5: md5 }));
    steps.push({ step: 'write', status: 'ok', message: `wrote the test object ${where} (${body.length} bytes)`, durationMs: Date.now() - t0 });
  } catch (err) {
    const e = classifyS3Error(err, contextOf(t, 'upload', key));
    steps.push({ step: 'write', status: 'failed', code: e.code, message: `could not write the test object: ${e.message}`, durationMs: Date.now() - t0 });
    return finish('bucketcast cannot upload to this bucket with these settings');
  }

  // 4. The same bytes again as a multipart upload (every file over one part goes this way).
  let uploadId: string | undefined;
  let completed = false;
  await step(steps, 'multipart', t, key, 'upload', async () => {
    uploadId = (await t.client.send(new CreateMultipartUploadCommand(params()))).UploadId;
    const part = await t.client.send(new UploadPartCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: body, ContentMD5: md5 }));
    await t.client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    completed = true;
    return { status: 'ok', message: 'wrote it again as a multipart upload (create, upload a part, complete)' };
  }, (e) => ({ status: 'failed', code: e.code, message: `a multipart upload of the test object failed, so files over one part cannot be uploaded: ${e.message}` }));

  // 5–9. Each may be denied by a least-privilege policy; uploads still work.
  await step(steps, 'head', t, key, 'head', async () => {
    const h = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    if (h.ContentLength !== body.length) return { status: 'failed', code: 'integrity_mismatch', message: `HEAD shows ${h.ContentLength} bytes, ${body.length} were written` };
    return { status: 'ok', message: `HEAD finds it: ${h.ContentLength} bytes, ETag ${h.ETag}` };
  });
  await step(steps, 'read', t, key, 'read', async () => {
    const got = await t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    if (!bytes.equals(body)) return { status: 'failed', code: 'integrity_mismatch', message: 'read it back, but the content differs from what was written' };
    return { status: 'ok', message: 'read it back: the content matches' };
  });
  await step(steps, 'list', t, key, 'list', async () => {
    const out = await t.client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: key, MaxKeys: 1 }));
    const found = (out.Contents ?? []).some((o) => o.Key === key);
    return { status: 'ok', message: found ? 'listing the prefix finds the test object' : 'listing is allowed, but does not show the test object yet' };
  });
  await step(steps, 'abort multipart', t, key, 'abort', async () => {
    // The test's own upload: completed (404 NoSuchUpload proves the permission), or left by a failed step 4 (aborted now).
    const id = uploadId ?? `bucketcast-validation-${randomBytes(8).toString('hex')}`;
    try {
      await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: key, UploadId: id }));
      return { status: 'ok', message: completed ? 'AbortMultipartUpload is allowed' : 'aborted the unfinished test upload' };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404) return { status: 'ok', message: 'AbortMultipartUpload is allowed (the completed test upload answers 404 NoSuchUpload)' };
      throw err;
    }
  }, (e) => (e.code === 'access_denied'
    ? { status: 'denied', code: e.code, message: `AbortMultipartUpload was denied${uploadId && !completed ? `; the unfinished test upload ${uploadId} stays until a lifecycle rule removes it` : ''}` }
    : undefined));
  await step(steps, 'delete', t, key, 'delete', async () => {
    await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
    return { status: 'ok', message: 'deleted the test object' };
  });
  return finish();
}

/** Runs one check: `ok`/`failed` as it returns, `denied` on AccessDenied, `failed` on anything else (unless `onError` decides). */
async function step(
  steps: ValidationStep[],
  name: StepName,
  t: Target,
  key: string,
  operation: string,
  run: () => Promise<Outcome>,
  onError?: (e: StorageError) => Outcome | undefined,
): Promise<void> {
  const t0 = Date.now();
  try {
    const r = await run();
    steps.push({ step: name, ...r, durationMs: Date.now() - t0 });
  } catch (err) {
    const e = classifyS3Error(err, contextOf(t, operation, key));
    const decided = onError?.(e);
    if (decided) steps.push({ step: name, ...decided, durationMs: Date.now() - t0 });
    else if (e.code === 'access_denied') steps.push({ step: name, status: 'denied', code: e.code, message: `${name} was denied (no ${PERMISSIONS[PERMISSION_OF[name]!].action})`, durationMs: Date.now() - t0 });
    else steps.push({ step: name, status: 'failed', code: e.code, message: `${name} failed: ${e.message || errorMessage(err)}`, durationMs: Date.now() - t0 });
  }
}

/**
 * The filesystem target: write a test object as an upload would (temporary
 * name, fsync, rename), read it back, find it, delete it. There is no
 * multipart upload, HEAD or abort to check: those steps say so.
 */
async function validateLocal(t: FsTarget, app: AppSettings, steps: ValidationStep[], report: ValidationReport): Promise<string | undefined> {
  const key = renderKey(t.prefix, t.settings.keyTemplates.streams, { app: app.name, streamId: 'validation', recordingId: 'validation', startedAt: new Date().toISOString(), fileName: `bucketcast-validation-${randomBytes(3).toString('hex')}.txt` });
  report.key = key;
  const body = Buffer.from(`bucketcast wrote this file at ${new Date().toISOString()} to check that it can store recordings here. It is safe to delete.\n`);
  const file = (() => {
    try {
      return objectPath(t.root, key);
    } catch (err) {
      return err as StorageError;
    }
  })();
  const t0 = Date.now();
  if (typeof file !== 'string') {
    steps.push({ step: 'write', status: 'failed', code: file.code, message: file.message, durationMs: 0 });
    return 'the key templates make keys that are not plain relative paths';
  }
  const reader = new PartReader();
  try {
    await putLocalObject(t, key, { data: body }, reader);
    steps.push({ step: 'write', status: 'ok', message: `wrote the test file ${file} (${body.length} bytes: temporary name, fsync, rename)`, durationMs: Date.now() - t0 });
  } catch (err) {
    const e = err as StorageError;
    steps.push({ step: 'write', status: 'failed', code: e.code, message: `could not write the test file: ${e.message}`, durationMs: Date.now() - t0 });
    return `bucketcast cannot store recordings under ${t.root}`;
  } finally {
    await reader.close();
  }
  const na = (step: StepName, what: string) => steps.push({ step, status: 'ok', message: `${what} (the local store has no such request; nothing to allow)`, durationMs: 0 });
  na('multipart', 'large files are written whole');
  na('head', 'the file is checked with stat after its rename');
  na('abort multipart', 'no multipart uploads');
  const read = readFileSync(file);
  steps.push(read.equals(body) ? { step: 'read', status: 'ok', message: 'read it back: the content matches', durationMs: 0 } : { step: 'read', status: 'failed', code: 'integrity_mismatch', message: 'read it back, but the content differs', durationMs: 0 });
  steps.push({ step: 'list', status: existsSync(file) ? 'ok' : 'failed', message: `the file is at ${file}`, durationMs: 0 });
  try {
    await deleteLocalObject(t, key);
    steps.push({ step: 'delete', status: 'ok', message: 'deleted the test file', durationMs: 0 });
  } catch (err) {
    steps.push({ step: 'delete', status: 'failed', code: (err as StorageError).code, message: (err as Error).message, durationMs: 0 });
  }
  return undefined;
}
