/**
 * Publisher caps, checked when a publish is admitted (after its credential):
 * per application `maxPublishers`, and `server.limits.publishersPerIp` over
 * every app (IPv6 by /64; 127.0.0.1 and ::1 not capped per address).
 */
import type { PublishDecision, PublishRequest, PublisherSession } from './types.js';
import { addressKey, hostOf } from '../limits/address-key.js';

const OWN = new Set(['127.0.0.1', addressKey('::1')]);

/** A refusal (`too_many_publishers`) or null to admit. `onRefused(kind, scope)` counts it. */
export function publisherCaps(
  req: Pick<PublishRequest, 'app' | 'remoteAddress'>,
  live: ReadonlyArray<Pick<PublisherSession, 'app' | 'remoteAddress'>>,
  maxPublishers: number,
  perIp: number,
  onRefused: (kind: string, scope: string) => void,
): PublishDecision | null {
  if (maxPublishers > 0 && live.filter((s) => s.app === req.app).length >= maxPublishers) {
    onRefused('publish', 'app');
    return { ok: false, code: 'too_many_publishers', reason: `application "${req.app}" has its maximum of ${maxPublishers} publishers` };
  }
  const key = addressKey(hostOf(req.remoteAddress));
  if (perIp > 0 && !OWN.has(key) && live.filter((s) => addressKey(hostOf(s.remoteAddress)) === key).length >= perIp) {
    onRefused('publish', 'per_ip');
    return { ok: false, code: 'too_many_publishers', reason: `${key} already publishes ${perIp} streams (server.limits.publishersPerIp)` };
  }
  return null;
}
