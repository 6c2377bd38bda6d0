/**
 * Login throttling: failures are counted per client address and per user name
 * (from any address) within a window; reaching a limit locks that address or
 * user out for a while, during which even the right password is refused
 * (429 with Retry-After) without being checked. A success clears both
 * counters. Kept in memory: a restart forgives, which an attacker cannot
 * cause. The per-user limit lets anyone lock the admin out for
 * `lockoutSeconds` by failing on purpose; that is the price of stopping a
 * guesser that rotates addresses, and the lockout is short.
 */

export interface LoginLimits {
  maxFailuresPerIp: number;
  maxFailuresPerUser: number;
  windowSeconds: number;
  lockoutSeconds: number;
}

export type Lockout = { locked: false } | { locked: true; scope: 'ip' | 'user'; retryAfterSeconds: number };

interface Entry {
  failures: number[];
  lockedUntil: number;
}

/** Entries kept at most per kind (address, user); the stalest are dropped first. */
const MAX_ENTRIES = 10_000;

export class LoginLimiter {
  private readonly ips = new Map<string, Entry>();
  private readonly users = new Map<string, Entry>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an attempt may be checked at all. */
  check(ip: string, username: string): Lockout {
    const t = this.now();
    const ipLock = this.ips.get(ip)?.lockedUntil ?? 0;
    const userLock = this.users.get(userKey(username))?.lockedUntil ?? 0;
    const until = Math.max(ipLock, userLock);
    if (until <= t) return { locked: false };
    return { locked: true, scope: ipLock >= userLock ? 'ip' : 'user', retryAfterSeconds: Math.ceil((until - t) / 1000) };
  }

  /** Counts a failure; returns the lockout it caused, if any. */
  fail(ip: string, username: string): Lockout {
    this.count(this.ips, ip, this.limits.maxFailuresPerIp);
    this.count(this.users, userKey(username), this.limits.maxFailuresPerUser);
    return this.check(ip, username);
  }

  succeed(ip: string, username: string): void {
    this.ips.delete(ip);
    this.users.delete(userKey(username));
  }

  private count(map: Map<string, Entry>, key: string, max: number): void {
    const t = this.now();
    const windowStart = t - this.limits.windowSeconds * 1000;
    const e = map.get(key) ?? { failures: [], lockedUntil: 0 };
    e.failures = e.failures.filter((f) => f > windowStart);
    e.failures.push(t);
    if (e.failures.length >= max) {
      e.lockedUntil = t + this.limits.lockoutSeconds * 1000;
      e.failures = [];
    }
    // Re-inserted last, so the map's order is staleness order.
    map.delete(key);
    map.set(key, e);
    while (map.size > MAX_ENTRIES) map.delete(map.keys().next().value!);
  }
}

// Case variants of a name count as the same user.
const userKey = (username: string) => username.toLowerCase();
