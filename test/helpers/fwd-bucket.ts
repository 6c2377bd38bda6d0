/**
 * A real S3-compatible bucket on loopback for the forwarding tests: s3rver on
 * port 0, the SDK client that fills it, a real SigV4 pre-signer, an in-memory
 * upload catalog, and a "private bucket" gate in front of s3rver.
 *
 * s3rver serves anonymous GETs and does not check V4 signatures, so the gate
 * plays the part of a private AWS bucket: it refuses anonymous requests, and
 * checks a pre-signed URL by signing the same request again with the same
 * date and expiry (method and Host header included, as S3 does) and comparing
 * signatures, and refuses expired ones.
 */
import http from 'node:http';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { S3Client, PutObjectCommand, PutBucketCorsCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ObjectLocator, ObjectSigner, StoredObject } from '../../src/forwarding/types.js';
import type { MediaFolder } from '../../src/http/media-routes.js';
import { contentTypeFor } from '../../src/http/content-types.js';

/** The part of s3rver used here (loaded untyped: the package ships no types). */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => S3rverServer;

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: CREDENTIALS });
}

export interface TestBucket {
  bucket: string;
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Path-style base URL of the bucket: `<endpoint>/<bucket>`. */
  url: string;
  client: S3Client;
  put(key: string, body: Buffer | string, contentType?: string): Promise<void>;
  putFile(key: string, file: string): Promise<void>;
  allowOrigins(origins: string[], methods?: string[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startBucket(bucket = 'recordings'): Promise<TestBucket> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'bc-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const addr = await server.run();
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const client = s3Client(endpoint);
  const put = async (key: string, body: Buffer | string, contentType?: string) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType ?? contentTypeFor(key) }));
  };
  return {
    bucket,
    endpoint,
    url: `${endpoint}/${bucket}`,
    client,
    put,
    putFile: (key, file) => put(key, readFileSync(file)),
    async allowOrigins(origins, methods = ['GET', 'HEAD']) {
      await client.send(
        new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [{ AllowedOrigins: origins, AllowedMethods: methods, AllowedHeaders: ['*'], ExposeHeaders: [] }] } }),
      );
    },
    async stop() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The storage module's signer, as the SDK does it: GetObject or HeadObject, signed for the bucket's endpoint. */
export function sdkSigner(endpoint: string, bucket: string): ObjectSigner & { calls: number } {
  const client = s3Client(endpoint);
  const signer = {
    calls: 0,
    async presign(r: Parameters<ObjectSigner['presign']>[0]) {
      signer.calls++;
      const input = { Bucket: r.bucket ?? bucket, Key: r.key };
      const command = r.method === 'HEAD' ? new HeadObjectCommand(input) : new GetObjectCommand(input);
      return getSignedUrl(client, command, { expiresIn: r.expiresSeconds });
    },
  };
  return signer;
}

/** An in-memory upload catalog. */
export class MemoryLocator implements ObjectLocator {
  private readonly objects = new Map<string, StoredObject>();
  lookups = 0;
  failWith?: Error;

  add(app: string, folder: MediaFolder, fileName: string, object: StoredObject): void {
    this.objects.set(`${app}/${folder}/${fileName}`, object);
  }

  async locate(app: string, folder: MediaFolder, fileName: string): Promise<StoredObject | undefined> {
    this.lookups++;
    if (this.failWith) throw this.failWith;
    return this.objects.get(`${app}/${folder}/${fileName}`);
  }
}

export interface PrivateGate {
  /** `http://127.0.0.1:<port>`: sign URLs for this endpoint. */
  endpoint: string;
  /** Requests refused, by reason. */
  refused: string[];
  /** Headers of every request that reached the gate. */
  seen: http.IncomingHttpHeaders[];
  stop(): Promise<void>;
}

/** A private bucket: only correctly pre-signed, unexpired requests (and CORS preflights) reach s3rver. */
export async function startPrivateGate(upstream: TestBucket): Promise<PrivateGate> {
  const refused: string[] = [];
  const seen: http.IncomingHttpHeaders[] = [];
  const upstreamUrl = new URL(upstream.endpoint);
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    void (async () => {
      const problem = req.method === 'OPTIONS' ? null : await signatureProblem(req);
      if (problem) {
        refused.push(problem);
        res.writeHead(403, { 'Content-Type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${problem}</Message></Error>`);
        return;
      }
      const out = http.request({ host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstreamUrl.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    refused,
    seen,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function signatureProblem(req: http.IncomingMessage): Promise<string | null> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const q = url.searchParams;
  const signature = q.get('X-Amz-Signature');
  if (!signature) return 'anonymous access denied';
  const date = q.get('X-Amz-Date') ?? '';
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  const expires = Number(q.get('X-Amz-Expires'));
  if (!m || !expires) return 'malformed pre-signed URL';
  const signedAt = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  if (Date.now() > signedAt.getTime() + expires * 1000) return 'request has expired';
  const [, bucket, ...keyParts] = url.pathname.split('/');
  const input = { Bucket: decodeURIComponent(bucket), Key: keyParts.map(decodeURIComponent).join('/') };
  const command = req.method === 'HEAD' ? new HeadObjectCommand(input) : req.method === 'GET' ? new GetObjectCommand(input) : undefined;
  if (!command) return `method ${req.method} not allowed`;
  const client = s3Client(`http://${req.headers.host}`);
  try {
    const again = new URL(await getSignedUrl(client, command, { expiresIn: expires, signingDate: signedAt }));
    return again.searchParams.get('X-Amz-Signature') === signature ? null : 'signature does not match';
  } finally {
    client.destroy();
  }
}
