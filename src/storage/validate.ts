/**
 * Storage validation, after Twilio's test file: check the bucket name, find
 * the credentials, write a small text object where recordings go, HEAD it,
 * read it back, delete it, and say in plain words how each step went.
 *
 * A step may end `ok`, `failed`, `denied` (the credentials may not do it — a
 * write-only policy denies HEAD, GET and DELETE, and uploads still work) or
 * `skipped`. The report is `ok` when no step `failed`. Its shape leaves room
 * for a permission report (put/get/delete/list/abort and what each missing
 * permission costs) next to `steps`.
 */
import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { AppSettings } from '../config/schema.js';
import { bucketNameProblem } from '../config/storage-schema.js';
import { errorMessage } from '../errors.js';
import { accessKeyIdHint } from '../store/key-hint.js';
import { classifyS3Error } from './errors.js';
import { renderKey } from './keys.js';
import { objectParams } from './object-uploader.js';
import { contextOf, type Target, type TargetResolver } from './targets.js';

export type StepName = 'bucket name' | 'credentials' | 'write' | 'head' | 'read' | 'delete';
export type StepStatus = 'ok' | 'failed' | 'denied' | 'skipped';

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
  ok: boolean;
  app: string;
  target: { bucket: string; region: string; endpoint?: string; prefix: string; embedded: boolean; credentials?: string };
  /** Key of the test object. */
  key?: string;
  steps: ValidationStep[];
  /** One sentence. */
  summary: string;
}

/** Runs the checks for an app's current storage settings. */
export async function validateStorage(app: AppSettings, resolver: TargetResolver): Promise<ValidationReport> {
  const s = app.s3;
  const steps: ValidationStep[] = [];
  const report: ValidationReport = {
    ok: false,
    app: app.name,
    target: { bucket: s.bucket ?? '(embedded store)', region: s.region, endpoint: s.endpoint, prefix: s.prefix, embedded: !s.bucket },
    steps,
    summary: '',
  };
  const finish = (summary: string): ValidationReport => {
    for (const name of ['bucket name', 'credentials', 'write', 'head', 'read', 'delete'] as StepName[]) {
      if (!steps.some((x) => x.step === name)) steps.push({ step: name, status: 'skipped', message: 'not tried (an earlier step failed)', durationMs: 0 });
    }
    report.ok = steps.every((x) => x.status !== 'failed');
    report.summary = summary;
    return report;
  };

  // 1. Bucket name, before any request: 7-bit ASCII only.
  const problem = s.bucket === undefined ? null : bucketNameProblem(s.bucket);
  if (problem) {
    steps.push({ step: 'bucket name', status: 'failed', code: 'bad_bucket_name', message: `bucket name "${s.bucket}" ${problem}`, durationMs: 0 });
    return finish('the bucket name is not usable; nothing was sent');
  }
  steps.push({ step: 'bucket name', status: 'ok', message: s.bucket ? `"${s.bucket}" is a usable bucket name` : 'no bucket set: the embedded store is used', durationMs: 0 });

  // 2. Credentials.
  let t: Target;
  let t0 = Date.now();
  try {
    t = await resolver.resolve(app);
    report.target = { bucket: t.bucket, region: t.region, endpoint: t.endpoint, prefix: t.prefix, embedded: t.embedded, credentials: t.credentialSource };
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
  const where = `s3://${t.bucket}/${key}`;
  t0 = Date.now();
  try {
    await t.client.send(new PutObjectCommand({ ...objectParams(t, key, 'text/plain; charset=utf-8', { purpose: 'bucketcast-validation' }), Body: body }));
    steps.push({ step: 'write', status: 'ok', message: `wrote the test object ${where} (${body.length} bytes)`, durationMs: Date.now() - t0 });
  } catch (err) {
    const e = classifyS3Error(err, contextOf(t, 'upload', key));
    steps.push({ step: 'write', status: 'failed', code: e.code, message: `could not write the test object: ${e.message}`, durationMs: Date.now() - t0 });
    return finish('bucketcast cannot upload to this bucket with these settings');
  }

  // 4–6. HEAD, read back, delete: each may be denied by a least-privilege policy.
  await step(steps, 'head', t, key, async () => {
    const h = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: key }));
    if (h.ContentLength !== body.length) return { status: 'failed', code: 'integrity_mismatch', message: `HEAD shows ${h.ContentLength} bytes, ${body.length} were written` };
    return { status: 'ok', message: `HEAD finds it: ${h.ContentLength} bytes, ETag ${h.ETag}` };
  }, 'HEAD was denied (no s3:GetObject): uploads still work and are confirmed from the upload response');
  await step(steps, 'read', t, key, async () => {
    const got = await t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    if (!bytes.equals(body)) return { status: 'failed', code: 'integrity_mismatch', message: 'read it back, but the content differs from what was written' };
    return { status: 'ok', message: 'read it back: the content matches' };
  }, 'reading it back was denied (no s3:GetObject): uploads still work; serving recordings from the bucket needs it');
  await step(steps, 'delete', t, key, async () => {
    await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key }));
    return { status: 'ok', message: 'deleted the test object' };
  }, `deleting it was denied (no s3:DeleteObject): uploads still work; remove ${where} yourself`);

  const denied = steps.filter((x) => x.status === 'denied').map((x) => x.step);
  return finish(
    steps.some((x) => x.status === 'failed')
      ? 'the bucket accepted the test object, but a later check failed'
      : denied.length
        ? `bucketcast can upload here; ${denied.join(', ')} ${denied.length > 1 ? 'were' : 'was'} denied (fine for write-only credentials)`
        : 'bucketcast can upload, verify, read and delete here',
  );
}

async function step(
  steps: ValidationStep[],
  name: StepName,
  t: Target,
  key: string,
  run: () => Promise<{ status: StepStatus; message: string; code?: string }>,
  deniedMessage: string,
): Promise<void> {
  const t0 = Date.now();
  try {
    const r = await run();
    steps.push({ step: name, ...r, durationMs: Date.now() - t0 });
  } catch (err) {
    const e = classifyS3Error(err, contextOf(t, name === 'delete' ? 'delete' : name === 'head' ? 'head' : 'read', key));
    if (e.code === 'access_denied') steps.push({ step: name, status: 'denied', code: e.code, message: deniedMessage, durationMs: Date.now() - t0 });
    else steps.push({ step: name, status: 'failed', code: e.code, message: `${name} failed: ${e.message || errorMessage(err)}`, durationMs: Date.now() - t0 });
  }
}

