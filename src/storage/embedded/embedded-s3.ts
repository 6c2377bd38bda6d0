/**
 * The embedded default: when an app has no bucket, its recordings go to an
 * S3-compatible store (s3rver) on 127.0.0.1, kept in `<dataDir>/.s3/`, with
 * one bucket (`bucketcast`) and fixed credentials. It starts on first need,
 * so a newcomer's `npm start` shows the whole flow; configuring a real bucket
 * replaces it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import S3rver from 's3rver';
import type { Logger } from '../../log/logger.js';
import { errorMessage } from '../../errors.js';
import { addMultipartOperations } from './s3rver-multipart.js';

/** Where the embedded store is and how to sign for it (loopback only, so fixed credentials). */
export interface EmbeddedEndpoint {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  directory: string;
}

export const EMBEDDED_BUCKET = 'bucketcast';
/** s3rver's built-in account; it accepts only its own access key ids. */
const EMBEDDED_KEY = 'S3RVER';

export interface EmbeddedS3Options {
  /** The server's data dir; the store lives in `.s3/` under it. */
  dataDir: string;
  /** Port on 127.0.0.1 (0: a free one). */
  port: number;
  log: Logger;
}

export class EmbeddedS3 {
  private server?: S3rver;
  private starting?: Promise<EmbeddedEndpoint>;
  private readonly log: Logger;

  constructor(private readonly options: EmbeddedS3Options) {
    this.log = options.log.child({ module: 'embedded-s3' });
  }

  /** Starts the store unless it runs; resolves with its endpoint. */
  ensure(): Promise<EmbeddedEndpoint> {
    this.starting ??= this.start().catch((err) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /** True once started. */
  get running(): boolean {
    return this.server !== undefined;
  }

  private async start(): Promise<EmbeddedEndpoint> {
    const directory = path.join(path.resolve(this.options.dataDir), '.s3');
    mkdirSync(directory, { recursive: true });
    const server = new S3rver({
      address: '127.0.0.1',
      port: this.options.port,
      directory,
      silent: true,
      vhostBuckets: false,
      configureBuckets: [{ name: EMBEDDED_BUCKET }],
    });
    addMultipartOperations(server);
    let addr;
    try {
      addr = await server.run();
    } catch (err) {
      throw new Error(`the embedded S3 store could not listen on 127.0.0.1:${this.options.port}: ${errorMessage(err)}`);
    }
    this.server = server;
    const ep: EmbeddedEndpoint = {
      endpoint: `http://127.0.0.1:${addr.port}`,
      bucket: EMBEDDED_BUCKET,
      region: 'us-east-1',
      accessKeyId: EMBEDDED_KEY,
      secretAccessKey: EMBEDDED_KEY,
      directory,
    };
    this.log.info({ endpoint: ep.endpoint, bucket: ep.bucket, directory }, 'embedded s3 store started (no bucket configured)');
    return ep;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.starting = undefined;
    if (!server) return;
    const closing = server.close();
    // Keep-alive connections from our S3 clients would hold close() open.
    server.httpServer?.closeAllConnections();
    await closing.catch(() => undefined);
  }
}
