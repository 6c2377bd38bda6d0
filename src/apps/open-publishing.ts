/**
 * Open publishing made visible: an app whose `publishSecurity.mode` is `none`
 * takes any publisher who knows its URL. That is the quick-start default (as
 * in MediaMTX, nginx-rtmp and SRS), harmless on loopback, a risk on any other
 * address. The warning is logged at every start and shown by the panel
 * (`GET /api/v1/server` → `warnings`) while it holds.
 */
import net from 'node:net';

/** A condition the operator should fix, as the panel shows it. */
export interface ServerWarning {
  code: 'open_publishing';
  message: string;
  apps: string[];
}

/** Whether a bind address only takes connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

/** The open-publishing warning, or null when every app asks for a credential or the server listens on loopback only. */
export function openPublishingWarning(host: string, apps: ReadonlyArray<{ name: string; publishSecurity: { mode: string } }>): ServerWarning | null {
  if (isLoopback(host)) return null;
  const open = apps.filter((a) => a.publishSecurity.mode === 'none').map((a) => a.name);
  if (open.length === 0) return null;
  return {
    code: 'open_publishing',
    apps: open,
    message: `anyone who can reach ${host} may publish to ${open.map((n) => `"${n}"`).join(', ')} (publishSecurity.mode "none"): set streamKeys or signedTokens for production`,
  };
}
