/** Where encoders publish, as the API shows it: RTMP (and OBS's two fields) and WHIP, for the host the request came to. */
import type { Request } from 'express';

export interface PublishUrlsOptions {
  /** The RTMP listener's port, once it is listening. */
  rtmpPort: () => number;
}

export function publishUrls(req: Request, o: PublishUrlsOptions, app: string, streamId?: string, credential?: { param: 'key' | 'token'; value: string }) {
  const host = req.hostname.includes(':') ? `[${req.hostname}]` : req.hostname;
  const server = `rtmp://${host}:${o.rtmpPort()}/${app}`;
  if (streamId === undefined) return { rtmp: { server } };
  const streamKey = credential ? `${streamId}?${credential.param}=${credential.value}` : streamId;
  return {
    rtmp: { server, streamKey, url: `${server}/${streamKey}` },
    whip: { url: `${req.protocol}://${req.host}/${app}/whip/${streamId}`, ...(credential ? { bearerToken: credential.value } : {}) },
  };
}
