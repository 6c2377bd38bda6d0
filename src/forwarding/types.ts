/**
 * What the forwarding module needs from the rest of the server, as small
 * interfaces it declares itself: the upload catalog (where an uploaded file
 * really is) and the storage module's URL signer. `main.ts` hands in the real
 * ones; tests hand in an in-memory catalog and a real SDK signer.
 */
import type { MediaFolder } from '../http/media-routes.js';

/** Where an uploaded file lives in its bucket. */
export interface StoredObject {
  /** Bucket the object was uploaded to. */
  bucket: string;
  /** Object key, e.g. `live/2026/11/22/cam1_20261122T185003Z.mp4` (no leading slash). */
  key: string;
  /**
   * Set when the recording was delivered to a pre-signed PUT URL (shown without its query):
   * the server cannot read it back, so once the local copy is gone it answers 404 saying where it went.
   */
  deliveredTo?: string;
  /** Set when the object is in a recording's own destination bucket: signed with that destination's credentials, never redirected to the app's base URL. */
  ownCredentials?: boolean;
}

/** The upload catalog, as forwarding sees it. */
export interface ObjectLocator {
  /**
   * The object a served file name was uploaded as, or undefined when the
   * catalog knows no completed upload of it (the plain mapping applies then).
   * `folder` and `fileName` are exactly the URL's `/<app>/<folder>/<fileName>`.
   */
  locate(app: string, folder: MediaFolder, fileName: string): Promise<StoredObject | undefined>;
  /** What `locate` would answer, when already known without waiting (a cache); undefined when it is not. */
  peek?(app: string, folder: MediaFolder, fileName: string): { object: StoredObject | undefined } | undefined;
}

export interface PresignRequest {
  app: string;
  /** Object key (no leading slash). */
  key: string;
  /** The catalog's bucket; the app's current bucket when absent. */
  bucket?: string;
  /** SigV4 signs the method: a URL signed for GET is refused for HEAD. */
  method: 'GET' | 'HEAD';
  expiresSeconds: number;
}

/** The storage module's signer for the app's bucket. */
export interface ObjectSigner {
  /**
   * A pre-signed URL for one request on one object. Throws an `AppError`
   * (status 404 when the app has no bucket, 503 when storage is unavailable).
   */
  presign(request: PresignRequest): Promise<string>;
}

/**
 * Objects of a storage target that keeps them as plain files on this machine
 * (the filesystem target: `<dataDir>/bucket/<key>`). The storage module's
 * `ObjectAccess` implements it; forwarding serves such an object itself.
 */
export interface LocalObjectResolver {
  /** Absolute path of the object when the app's target stores it on this machine's file system, else undefined. */
  localPath(app: string, bucket: string, key: string): string | undefined;
}
