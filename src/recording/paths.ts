/** Every file path of one recording, derived from its manifest and the data layout. */
import path from 'node:path';
import type { DataLayout } from './layout.js';
import type { RecordingManifest } from './manifest.js';

export interface RecordingPaths {
  /** Work dir holding the manifest and the live file. */
  workDir: string;
  /** Crash-safe file written while live (fragmented MP4 or WebM). */
  live: string;
  /** The feed's descriptor, where it has one (the SDP of the RTP a WHIP session forwards). */
  descriptor: string;
  /** ffmpeg pattern of the live parts (`recordSegmentSeconds`), in the work dir. */
  partPattern: string;
  /** CSV segment list ffmpeg appends to as each part closes: `file,start,end` in media seconds. */
  partList: string;
  /** Final, seekable recording (`.mp4`, or `.webm`). */
  final: string;
  /** HLS playlist. */
  playlist: string;
  /** ffmpeg pattern of HLS segment files. */
  segmentPattern: string;
  /** Prefix every HLS segment file name starts with. */
  segmentPrefix: string;
  /** ffmpeg pattern of the recording's preview images. */
  previewPattern: string;
  /** Prefix of the recording's preview image names. */
  previewPrefix: string;
  /** The stream's latest preview, replaced as new ones are taken. */
  latestPreview: string;
  /** Poster image of the recording. */
  poster: string;
  streamsDir: string;
  previewsDir: string;
}

export function recordingPaths(layout: DataLayout, m: RecordingManifest): RecordingPaths {
  const workDir = layout.workDir(m.recordingId);
  const streamsDir = layout.streamsDir(m.app);
  const previewsDir = layout.previewsDir(m.app);
  const ext = m.previewFormat;
  const finalExt = m.liveContainer === 'webm' ? 'webm' : 'mp4';
  return {
    workDir,
    live: path.join(workDir, `${m.name}.${m.liveContainer === 'webm' ? 'webm' : 'fmp4'}`),
    descriptor: path.join(workDir, 'input.sdp'),
    partPattern: path.join(workDir, `${m.name}_p%04d.fmp4`),
    partList: path.join(workDir, 'parts.csv'),
    final: path.join(streamsDir, `${m.name}.${finalExt}`),
    playlist: path.join(streamsDir, `${m.name}.m3u8`),
    segmentPattern: path.join(streamsDir, `${m.name}_%05d.ts`),
    segmentPrefix: `${m.name}_`,
    previewPattern: path.join(previewsDir, `${m.name}_%04d.${ext}`),
    previewPrefix: `${m.name}_`,
    latestPreview: path.join(previewsDir, `${m.streamId}.${ext}`),
    poster: path.join(previewsDir, `${m.name}.${ext}`),
    streamsDir,
    previewsDir,
  };
}

/** A file name (or prefix) as a literal inside a regular expression. */
export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
