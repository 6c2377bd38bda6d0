/** What ffprobe says of a finished file: duration, codecs, resolution. Run from the spawn helper (process/spawner.ts). */
import type { AudioInfo, VideoInfo } from '../events/types.js';
import { runFile } from '../process/spawner.js';

export interface ProbeResult {
  durationSeconds: number;
  video?: VideoInfo;
  audio?: AudioInfo;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
}

export async function probe(ffprobePath: string, file: string): Promise<ProbeResult> {
  const { stdout } = await runFile(ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]);
  let data: { streams?: FfprobeStream[]; format?: { duration?: string } };
  try {
    data = JSON.parse(stdout) as typeof data;
  } catch {
    throw new Error(`ffprobe gave no readable answer for ${file}`);
  }
  const streams = data.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  return {
    durationSeconds: Number(data.format?.duration) || 0,
    video: v ? { codec: String(v.codec_name), width: Number(v.width) || 0, height: Number(v.height) || 0, fps: frameRate(v.avg_frame_rate) } : undefined,
    audio: a ? { codec: String(a.codec_name), sampleRate: Number(a.sample_rate) || undefined, channels: Number(a.channels) || undefined } : undefined,
  };
}

function frameRate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [n, d] = r.split('/').map(Number);
  if (!n || !d) return undefined;
  return Math.round((n / d) * 100) / 100;
}
