/** Which kinds of a recording's files an app's upload settings send to the bucket. */
import type { AppSettings } from '../../config/schema.js';
import type { FileKind } from '../../events/types.js';

/** Whether an app's upload settings send files of a kind to the bucket. */
export function kindIsUploaded(kind: FileKind, upload: AppSettings['s3']['upload']): boolean {
  switch (kind) {
    case 'mp4':
    case 'webm':
      return upload.mp4;
    case 'hls-playlist':
    case 'hls-segment':
      return upload.hls;
    case 'preview':
    case 'poster':
      return upload.previews;
    case 'metadata':
      return upload.metadata;
  }
}
