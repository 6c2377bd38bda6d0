/**
 * The ffmpeg arguments of one recording: a single process per stream that
 * reads the feed once and writes every output (measured the cheapest topology,
 * ../shared/MEASURED.md):
 *   - a crash-safe live file (fragmented MP4, or WebM for VP8/VP9), copied;
 *   - HLS (event playlist, segments renamed into place when complete), copied;
 *   - preview images every N seconds plus the latest one under a fixed name.
 * `-skip_frame nokey` makes the decoder (used only by the previews) decode
 * keyframes alone; copied outputs still get every packet.
 */
import type { PreviewSettings } from '../config/schema.js';
import type { MediaFeed } from '../ingest/types.js';
import type { RecordingManifest } from './manifest.js';
import type { RecordingPaths } from './paths.js';

export interface FfmpegOutput {
  target: string;
  options: string[];
}

export interface FfmpegPlan {
  /** Options placed before `-i`. */
  inputOptions: string[];
  /** The input: `pipe:0` for a stream, or a file (SDP). */
  input: string;
  outputs: FfmpegOutput[];
}

const COPYABLE_VIDEO = new Set(['h264', 'hevc', 'av1', 'vp8', 'vp9']);
const MP4_AUDIO = new Set(['aac', 'mp3']);

export interface PlanOptions {
  manifest: RecordingManifest;
  feed: MediaFeed;
  paths: RecordingPaths;
  hlsTime: number;
  preview: PreviewSettings;
}

export function recordingPlan({ manifest, feed, paths, hlsTime, preview }: PlanOptions): FfmpegPlan {
  const inputOptions = ['-skip_frame', 'nokey', '-threads', '1'];
  let input = 'pipe:0';
  if (feed.format === 'flv') {
    inputOptions.push('-f', 'flv');
  } else {
    inputOptions.push('-protocol_whitelist', 'file,udp,rtp', '-f', 'sdp', '-reorder_queue_size', '256');
    input = paths.sdp;
  }
  const outputs: FfmpegOutput[] = [];
  const avMap = ['-map', '0:v?', '-map', '0:a?'];
  const video = feed.videoCodec && !COPYABLE_VIDEO.has(feed.videoCodec) ? ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '60'] : ['-c:v', 'copy'];
  // MP4 and HLS/TS carry AAC and MP3 as they are; anything else (Opus from WebRTC, Speex …) becomes AAC.
  const mp4Audio = feed.audioCodec && !MP4_AUDIO.has(feed.audioCodec) ? ['-c:a', 'aac', '-b:a', '128k'] : ['-c:a', 'copy'];

  if (manifest.mp4) {
    if (manifest.liveContainer === 'webm') {
      outputs.push({ target: paths.live, options: [...avMap, '-c', 'copy', '-f', 'webm', '-cluster_time_limit', '2000'] });
    } else {
      outputs.push({
        target: paths.live,
        options: [...avMap, ...video, ...mp4Audio, '-f', 'mp4', '-movflags', '+empty_moov+default_base_moof', '-frag_duration', '500000', '-flush_packets', '1'],
      });
    }
  }
  if (manifest.hls) {
    const hlsVideo = manifest.liveContainer === 'webm' ? ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60'] : video;
    outputs.push({
      target: paths.playlist,
      options: [
        ...avMap,
        ...hlsVideo,
        ...mp4Audio,
        '-f', 'hls',
        '-hls_time', String(hlsTime),
        '-hls_list_size', '0',
        '-hls_playlist_type', 'event',
        '-hls_flags', 'temp_file+independent_segments',
        '-hls_segment_filename', paths.segmentPattern,
      ],
    });
  }
  if (manifest.previews && feed.hasVideo) {
    const filter = `select='isnan(prev_selected_t)+gte(t-prev_selected_t,${preview.periodSeconds})',scale=-2:'min(${preview.height},ih)'${preview.format === 'jpg' ? ':out_range=full' : ''}`;
    const image = ['-map', '0:v', '-an', '-vf', filter, '-fps_mode', 'vfr', ...imageCodec(preview.format), '-atomic_writing', '1', '-f', 'image2'];
    outputs.push({ target: paths.previewPattern, options: image });
    outputs.push({ target: paths.latestPreview, options: [...image, '-update', '1'] });
  }
  return { inputOptions, input, outputs };
}

function imageCodec(format: PreviewSettings['format']): string[] {
  switch (format) {
    case 'png':
      return ['-c:v', 'png'];
    case 'webp':
      return ['-c:v', 'libwebp', '-quality', '75'];
    default:
      return ['-c:v', 'mjpeg', '-q:v', '5'];
  }
}
