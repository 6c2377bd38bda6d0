/**
 * The key a client address is counted under for per-address caps: an IPv4
 * address as it is (also when IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address
 * by its /64 prefix, since one subscriber usually holds a whole /64 and could
 * otherwise take a fresh address for every connection.
 */
import net from 'node:net';

/** `198.51.100.7`, or `2001:db8:1:2::/64` for any address in that /64. */
export function addressKey(address: string): string {
  const a = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1];
  if (net.isIPv4(a)) return a;
  if (!net.isIPv6(a)) return a;
  return `${expand(a).slice(0, 4).join(':')}::/64`;
}

/** The address part of `ip:port` (`[v6]:port` or `v6:port` as the ingest servers log them). */
export function hostOf(addressWithPort: string): string {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(addressWithPort);
  if (bracket) return bracket[1];
  if (net.isIP(addressWithPort)) return addressWithPort;
  const i = addressWithPort.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(addressWithPort.slice(i + 1)) ? addressWithPort.slice(0, i) : addressWithPort;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros. */
function expand(a: string): string[] {
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) takes two groups.
  const last = t.length ? t : h;
  if (last.length && last[last.length - 1].includes('.')) {
    const [p, q, r, s] = last.pop()!.split('.').map(Number);
    last.push(((p << 8) | q).toString(16), ((r << 8) | s).toString(16));
  }
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g || '0', 16).toString(16));
}
