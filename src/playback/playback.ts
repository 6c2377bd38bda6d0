/**
 * Time-range playback (MediaMTX's playback server is the model, across local
 * disk and the bucket):
 *   GET /<app>/playback/<streamId>/list?from=&to=        spans of recorded time, gaps left out
 *   GET /<app>/playback/<streamId>.mp4?start=&duration=  one faststart MP4 of the span (Range works)
 *   GET /<app>/playback/<streamId>.m3u8?start=&duration= a VOD playlist with #EXT-X-PROGRAM-DATE-TIME
 * Times are RFC 3339, durations seconds. Errors are JSON `{error: {code, message}}`:
 * 400 for a bad parameter or a span over `maxSeconds`, 404 when nothing was
 * recorded in the span. One express Router, so it can be mounted behind a
 * viewing guard.
 */
import path from 'node:path';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { AppLookup } from '../apps/app-registry.js';
import { AppError, errorMessage } from '../errors.js';
import { ClipMaker } from './clip-maker.js';
import { cutsOf, spansOf } from './spans.js';
import { placeSegments, rangePlaylist, readPlaylist } from './range-playlist.js';
import type { ObjectReader, PlaybackIndex } from './types.js';

const STREAM_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface PlaybackOptions {
  index: PlaybackIndex;
  reader: ObjectReader;
  apps: AppLookup;
  ffmpegPath: string;
  /** The server's data dir (clips are written under `.playback/`). */
  dataDir: string;
  /** Longest span one request may ask for. */
  maxSeconds: number;
  /** Runs before every playback route: the app's viewing rules (private apps need a viewing token). */
  guard?: RequestHandler;
  log: Logger;
}

export class Playback implements Lifecycle {
  readonly router: Router;
  private readonly clips: ClipMaker;
  private readonly log: Logger;

  constructor(private readonly o: PlaybackOptions) {
    this.log = o.log.child({ module: 'playback' });
    this.clips = new ClipMaker({ ffmpegPath: o.ffmpegPath, dir: path.join(o.dataDir, '.playback'), reader: o.reader, log: this.log });
    this.router = Router();
    if (o.guard) this.router.use('/:app/playback', o.guard);
    this.router.get('/:app/playback/:streamId/list', this.handle((req, res) => this.list(req, res)));
    this.router.get('/:app/playback/:file', this.handle((req, res, next) => this.media(req, res, next)));
  }

  async start(): Promise<void> {
    this.clips.start();
  }

  async stop(): Promise<void> {
    this.clips.stop();
  }

  private handle(fn: (req: Request, res: Response, next: NextFunction) => Promise<void>) {
    return (req: Request, res: Response, next: NextFunction) => {
      fn(req, res, next).catch((err: unknown) => {
        const e = err instanceof AppError ? err : new AppError('internal', 'internal error', 500);
        if (!(err instanceof AppError) || e.status >= 500) this.log.error({ err: errorMessage(err), url: req.originalUrl }, 'playback request failed');
        if (!res.headersSent) res.status(e.status).json({ error: { code: e.code, message: e.message } });
      });
    };
  }

  private subject(req: Request, streamId: string): { app: string; streamId: string } {
    const app = String(req.params.app);
    if (!this.o.apps.get(app)) throw new AppError('app_not_found', `no application "${app}"`, 404);
    if (!STREAM_ID.test(streamId)) throw new AppError('invalid_parameter', 'stream id may only contain letters, digits, "-", "_" and "."', 400);
    return { app, streamId };
  }

  private async list(req: Request, res: Response): Promise<void> {
    const { app, streamId } = this.subject(req, String(req.params.streamId));
    const from = time(req, 'from', false) ?? 0;
    const to = time(req, 'to', false) ?? Date.now() + 86_400_000;
    if (to <= from) throw new AppError('invalid_parameter', 'query parameter to: must be after from', 400);
    const parts = await this.o.index.partsBetween(app, streamId, new Date(from).toISOString(), new Date(to).toISOString());
    const enc = encodeURIComponent;
    const spans = spansOf(parts, from, to).map((s) => {
      const q = `start=${enc(new Date(s.start).toISOString())}&duration=${((s.end - s.start) / 1000).toFixed(3)}`;
      const base = `/${enc(app)}/playback/${enc(streamId)}`;
      return { start: new Date(s.start).toISOString(), duration: (s.end - s.start) / 1000, mp4Url: `${base}.mp4?${q}`, hlsUrl: `${base}.m3u8?${q}` };
    });
    res.json({ app, streamId, spans });
  }

  private async media(req: Request, res: Response, next: NextFunction): Promise<void> {
    const file = String(req.params.file);
    const ext = file.endsWith('.mp4') ? 'mp4' : file.endsWith('.m3u8') ? 'm3u8' : undefined;
    if (!ext) return next();
    const { app, streamId } = this.subject(req, file.slice(0, -(ext.length + 1)));
    const start = time(req, 'start', true)!;
    const duration = Number(req.query.duration);
    if (typeof req.query.duration !== 'string' || !Number.isFinite(duration) || duration <= 0) {
      throw new AppError('invalid_parameter', 'query parameter duration: must be a number of seconds above 0', 400);
    }
    if (duration > this.o.maxSeconds) throw new AppError('span_too_long', `query parameter duration: at most ${this.o.maxSeconds} seconds may be asked at once`, 400);
    const end = start + duration * 1000;
    const [fromIso, toIso] = [new Date(start).toISOString(), new Date(end).toISOString()];
    if (ext === 'm3u8') return this.playlist(res, app, streamId, start, end);
    const readCuts = async () => {
      const parts = (await this.o.index.partsBetween(app, streamId, fromIso, toIso)).filter((p) => p.name.endsWith('.mp4'));
      if (parts.length === 0) throw new AppError('no_recording', `nothing of ${app}/${streamId} was recorded between ${fromIso} and ${toIso}`, 404);
      return cutsOf(parts, start, end);
    };
    const clip = await this.clips.clip(`${app}\n${streamId}\n${fromIso}\n${toIso}`, app, readCuts);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(clip, { headers: { 'Content-Type': 'video/mp4' }, acceptRanges: true, lastModified: false, dotfiles: 'allow' });
  }

  private async playlist(res: Response, app: string, streamId: string, start: number, end: number): Promise<void> {
    const summaries = await this.o.index.listRecordings({ app, streamId, from: new Date(start).toISOString(), to: new Date(end).toISOString(), limit: 500 });
    const recordings: Array<{ segments: ReturnType<typeof placeSegments> }> = [];
    for (const s of [...summaries].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))) {
      const r = await this.o.index.getRecording(s.recordingId);
      const text = r && (await readPlaylist(r, this.o.reader));
      if (text) recordings.push({ segments: placeSegments(text, Date.parse(s.startedAt), s.durationSeconds) });
    }
    const body = rangePlaylist(app, recordings, start, end);
    if (!body) throw new AppError('no_recording', `no HLS of ${app}/${streamId} was recorded in that span`, 404);
    res.setHeader('Content-Type', 'application/vnd.apple.mpegurl');
    res.setHeader('Cache-Control', 'no-cache');
    res.send(body);
  }
}

/** An RFC 3339 query parameter as epoch ms. */
function time(req: Request, name: string, required: boolean): number | undefined {
  const v = req.query[name];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v))) {
    throw new AppError('invalid_parameter', `query parameter ${name}: must be an RFC 3339 date-time with a zone, e.g. 2026-11-22T18:50:03Z`, 400);
  }
  return Date.parse(v);
}
