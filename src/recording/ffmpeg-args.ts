/**
 * The ffmpeg arguments of one recording: a single process per stream that
 * reads the feed once and writes every output (measured the cheapest topology,
 * ../shared/MEASURED.md):
 *   - a crash-safe live file (fragmented MP4, or WebM for VP8/VP9), copied;
 *   - HLS (event playlist, segments renamed into place when complete), copied;
 *   - preview images every N seconds plus the latest one under a fixed name.
 * `-skip_frame nokey` makes the decoder (used only by the previews) decode
 * keyframes alone; copied outputs still get every packet.
 *
 * Video is re-encoded to H.264 only where a container cannot carry it: HLS
 * (MPEG-TS) takes H.264/HEVC only, so VP8/VP9 from WebRTC are transcoded for
 * HLS; the MP4 gets them transcoded too when the app requires MP4
 * (`whip.requireMp4`), else they are copied into a WebM. Audio that MP4/TS
 * cannot carry (Opus) becomes AAC there and stays Opus in WebM.
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
  /** The input: `pipe:0` for a stream, or the feed's descriptor file (an SDP). */
  input: string;
  outputs: FfmpegOutput[];
}

/** Video codecs HLS (MPEG-TS segments) carries as they are. */
const TS_VIDEO = new Set(['h264', 'hevc']);
const MP4_AUDIO = new Set(['aac', 'mp3']);

export interface PlanOptions {
  manifest: RecordingManifest;
  feed: MediaFeed;
  paths: RecordingPaths;
  hlsTime: number;
  preview: PreviewSettings;
}

export function recordingPlan({ manifest, feed, paths, hlsTime, preview }: PlanOptions): FfmpegPlan {
  const codec = feed.videoCodec;
  const webm = manifest.liveContainer === 'webm';
  // Video is re-encoded only where the container cannot carry it as it comes from this feed: VP8/VP9 into MP4 (the
  // app requires MP4), anything but H.264 from RTP into MP4, anything but H.264/HEVC into HLS.
  const mp4Transcodes = manifest.mp4 && !webm && !!codec && !feed.mp4VideoCodecs.has(codec);
  const hlsTranscodes = manifest.hls && !!codec && !TS_VIDEO.has(codec);
  const transcoding = feed.hasVideo && (mp4Transcodes || hlsTranscodes);
  // Decoding keyframes only is enough for previews, but an encoder needs every frame (and some inputs cannot skip).
  const inputOptions = transcoding || !feed.keyframeDecoding ? ['-threads', '1'] : ['-skip_frame', 'nokey', '-threads', '1'];
  const { options, descriptor } = feed.input();
  inputOptions.push(...options);
  const input = descriptor === undefined ? 'pipe:0' : paths.descriptor;
  const outputs: FfmpegOutput[] = [];
  const avMap = ['-map', '0:v?', '-map', '0:a?'];
  const h264 = [
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-crf', '23', '-maxrate', '6M', '-bufsize', '12M', '-pix_fmt', 'yuv420p',
    // Segments cut on time; frames keep their (variable-rate) timestamps exactly.
    '-force_key_frames', `expr:gte(t,n_forced*${hlsTime})`, '-fps_mode', 'passthrough', '-enc_time_base:v', '1:90000',
  ];
  // MP4 and HLS/TS carry AAC and MP3 as they are; anything else (Opus from WebRTC, Speex …) becomes AAC.
  const aac = feed.audioCodec && !MP4_AUDIO.has(feed.audioCodec) ? ['-c:a', 'aac', '-b:a', '128k'] : ['-c:a', 'copy'];
  const fragmented: Array<[string, string]> = [['movflags', '+empty_moov+default_base_moof'], ['frag_duration', '500000'], ['flush_packets', '1']];
  const fmp4: MuxerOptions = manifest.segmentSeconds
    ? {
        // Parts: the same crash-safe fragmented MP4 per part, cut at the first keyframe past each multiple of the
        // duration. Each part's timestamps start at 0 (a standalone file); the CSV list keeps the media timeline.
        format: 'segment',
        file: paths.partPattern,
        options: [
          ['segment_time', String(manifest.segmentSeconds)],
          ['segment_format', 'mp4'],
          ['segment_format_options', fragmented.map(([k, v]) => `${k}=${v}`).join(':')],
          ['reset_timestamps', '1'],
          ['segment_start_number', '1'],
          ['segment_list', paths.partList],
          ['segment_list_type', 'csv'],
        ],
      }
    : { format: 'mp4', file: paths.live, options: fragmented };
  const hls: MuxerOptions = {
    format: 'hls',
    file: paths.playlist,
    options: manifest.hlsWindowSegments
      ? // A sliding window: the last N segments listed, older ones deleted (an EVENT playlist cannot drop segments).
        [['hls_time', String(hlsTime)], ['hls_list_size', String(manifest.hlsWindowSegments)], ['hls_flags', 'temp_file+independent_segments+delete_segments'], ['hls_segment_filename', paths.segmentPattern]]
      : [['hls_time', String(hlsTime)], ['hls_list_size', '0'], ['hls_playlist_type', 'event'], ['hls_flags', 'temp_file+independent_segments'], ['hls_segment_filename', paths.segmentPattern]],
  };

  if (manifest.mp4 && manifest.hls && mp4Transcodes && hlsTranscodes) {
    // Both need the same H.264: encode once and write both through the tee muxer. MP4 wants the parameter
    // sets in the header (global_header); MPEG-TS wants them in-band again before each keyframe.
    const tsHls: MuxerOptions = { ...hls, options: [['bsfs/v', 'h264_mp4toannexb'], ...hls.options] };
    outputs.push({ target: teeTarget([fmp4, tsHls]), options: [...avMap, ...h264, '-flags:v', '+global_header', ...aac, '-flags:a', '+global_header', '-f', 'tee'] });
  } else {
    if (manifest.mp4) {
      if (webm) {
        outputs.push({ target: paths.live, options: [...avMap, '-c', 'copy', '-f', 'webm', '-cluster_time_limit', '2000'] });
      } else {
        outputs.push({ target: fmp4.file, options: [...avMap, ...(mp4Transcodes ? h264 : ['-c:v', 'copy']), ...aac, ...muxerArgs(fmp4)] });
      }
    }
    if (manifest.hls) outputs.push({ target: hls.file, options: [...avMap, ...(hlsTranscodes ? h264 : ['-c:v', 'copy']), ...aac, ...muxerArgs(hls)] });
  }
  if (manifest.previews && feed.hasVideo) {
    const filter = `select='isnan(prev_selected_t)+gte(t-prev_selected_t,${preview.periodSeconds})',scale=-2:'min(${preview.height},ih)'${preview.format === 'jpg' ? ':out_range=full' : ''}`;
    const image = ['-map', '0:v', '-an', '-vf', filter, '-fps_mode', 'vfr', ...imageCodec(preview.format), '-atomic_writing', '1', '-f', 'image2'];
    outputs.push({ target: paths.previewPattern, options: image });
    outputs.push({ target: paths.latestPreview, options: [...image, '-update', '1'] });
  }
  return { inputOptions, input, outputs };
}

/** One muxer: its format, output file and private options. */
interface MuxerOptions {
  format: string;
  file: string;
  options: Array<[string, string]>;
}

function muxerArgs(m: MuxerOptions): string[] {
  return ['-f', m.format, ...m.options.flatMap(([k, v]) => [`-${k}`, v])];
}

/**
 * The output argument of ffmpeg's tee muxer: `[f=mp4:key=value]file|[…]file`.
 * It is unescaped twice: once when split into slaves (backslash, quote, `|`),
 * then each option value when split into options (backslash, quote, `:`, `]`),
 * so values are escaped for both and file names for the first.
 */
export function teeTarget(muxers: MuxerOptions[]): string {
  const inner = (v: string) => v.replace(/[\\':\]]/g, '\\$&');
  const outer = (v: string) => v.replace(/[\\'|]/g, '\\$&');
  return muxers
    .map((m) => outer(`[${[['f', m.format], ...m.options].map(([k, v]) => `${k}=${inner(v)}`).join(':')}]${m.file}`))
    .join('|');
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
