/** What ffprobe says of a finished file: duration, codecs, resolution. */
import ffmpeg from 'fluent-ffmpeg';
import type { AudioInfo, VideoInfo } from '../events/types.js';

export interface ProbeResult {
  durationSeconds: number;
  video?: VideoInfo;
  audio?: AudioInfo;
}

export function probe(ffprobePath: string, file: string): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    ffmpeg(file)
      .setFfprobePath(ffprobePath)
      .ffprobe((err: Error | null, data: ffmpeg.FfprobeData) => {
        if (err) return reject(err);
        const v = data.streams.find((s) => s.codec_type === 'video');
        const a = data.streams.find((s) => s.codec_type === 'audio');
        resolve({
          durationSeconds: Number(data.format.duration) || 0,
          video: v ? { codec: String(v.codec_name), width: Number(v.width) || 0, height: Number(v.height) || 0, fps: frameRate(v.avg_frame_rate) } : undefined,
          audio: a ? { codec: String(a.codec_name), sampleRate: Number(a.sample_rate) || undefined, channels: Number(a.channels) || undefined } : undefined,
        });
      });
  });
}

function frameRate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [n, d] = r.split('/').map(Number);
  if (!n || !d) return undefined;
  return Math.round((n / d) * 100) / 100;
}
