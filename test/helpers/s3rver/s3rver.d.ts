/**
 * Types for the parts of s3rver 3 (a loopback S3 server on the filesystem)
 * that bucketcast uses: the embedded store, and the test helper.
 */
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  /** A Koa application. */
  class S3rver {
    constructor(options?: S3rver.S3rverOptions);
    /** Koa middleware, composed when the server starts listening. */
    middleware: Array<(ctx: S3rver.KoaContext, next: () => Promise<void>) => Promise<void> | void>;
    store: S3rver.FilesystemStore;
    httpServer?: Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }

  namespace S3rver {
    interface S3rverOptions {
      address?: string;
      port?: number;
      directory?: string;
      silent?: boolean;
      vhostBuckets?: boolean;
      resetOnClose?: boolean;
      allowMismatchedSignatures?: boolean;
      configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
    }

    /** Its filesystem store (the parts we read). */
    interface FilesystemStore {
      rootDirectory: string;
      getResourcePath(bucket: string, key: string | undefined, resource: string): string;
      getBucket(bucket: string): Promise<unknown | null>;
      putBucket(bucket: string): Promise<unknown>;
      /** Stores one part of a multipart upload (replaced by bucketcast's guarded version). */
      putPart(bucket: string, uploadId: string, partNumber: string | number, content: import('node:stream').Readable): Promise<{ size: number; md5: string }>;
    }

    /** The parts of Koa's context our middleware uses. */
    interface KoaContext {
      method: string;
      path: string;
      query: Record<string, string | undefined>;
      headers: Record<string, string | undefined>;
      params: Record<string, string | undefined>;
      state: Record<string, unknown>;
      store: FilesystemStore;
      status: number;
      body: unknown;
      set(name: string, value: string): void;
      get(name: string): string;
    }
  }

  export = S3rver;
}

declare module 's3rver/lib/middleware/authentication.js' {
  import type { KoaContext } from 's3rver';
  /** Checks the request's signature against s3rver's known access keys. */
  function authentication(): (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
  export = authentication;
}

declare module 's3rver/lib/models/error.js' {
  /** An S3 error response (`<Error><Code>…`). */
  class S3Error extends Error {
    constructor(code: string, message?: string, detail?: Record<string, string>);
    code: string;
  }
  export = S3Error;
}

declare module 's3rver/lib/models/account.js' {
  class AWSAccount {
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
    revokeAccessKey(accessKeyId: string): void;
    static registry: Map<string, AWSAccount>;
    static DUMMY_ACCOUNT: AWSAccount;
  }
  export = AWSAccount;
}
