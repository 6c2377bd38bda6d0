/** A recording's upload state from its files (the same rule as the catalog's listings; see `RecordingUploadState`). */
import type { FileRecord, RecordingUploadState } from './types.js';

export function uploadStateOf(files: ReadonlyArray<Pick<FileRecord, 'state'>>): RecordingUploadState {
  const has = (s: FileRecord['state']) => files.some((f) => f.state === s);
  if (has('uploading')) return 'uploading';
  if (has('failed')) return 'failed';
  if (has('queued')) return 'queued';
  if (has('uploaded')) return 'uploaded';
  return 'local';
}
