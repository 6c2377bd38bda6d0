/**
 * A small client of the admin API for tests: logs in like the panel does
 * (cookie + CSRF token) or uses an API token like a script, and keeps every
 * answer's text so a test can check no secret ever came back.
 */
import type { TestServer } from './server.js';

/** The admin password test servers start with (BUCKETCAST_ADMIN_PASSWORD). */
export const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';

/** Environment for a server whose admin password is `ADMIN_PASSWORD`. */
export const adminEnv = (extra: Record<string, string> = {}) => ({ BUCKETCAST_ADMIN_PASSWORD: ADMIN_PASSWORD, ...extra });

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export interface RequestOptions {
  /** JSON body. */
  body?: unknown;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** Raw body with its content type. */
  raw?: { contentType: string; data: string };
  headers?: Record<string, string>;
  /** Leave out the CSRF header (session requests only). */
  noCsrf?: boolean;
}

export class ApiClient {
  /** Text of every answer, for secret checks. */
  static readonly seen: string[] = [];

  constructor(
    readonly base: string,
    readonly auth: { cookie?: string; csrf?: string; token?: string } = {},
  ) {}

  async request<T = any>(method: string, path: string, o: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.auth.cookie) headers.cookie = this.auth.cookie;
    if (this.auth.cookie && this.auth.csrf && !o.noCsrf && method !== 'GET') headers['x-csrf-token'] = this.auth.csrf;
    if (this.auth.token) headers.authorization = `Bearer ${this.auth.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(o.body);
    } else if (o.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(o.form).toString();
    } else if (o.raw) {
      headers['content-type'] = o.raw.contentType;
      body = o.raw.data;
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    ApiClient.seen.push(`${res.headers.get('set-cookie') ?? ''}\n${text}`);
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  get<T = any>(path: string, o?: RequestOptions) {
    return this.request<T>('GET', path, o);
  }
  post<T = any>(path: string, body?: unknown, o: RequestOptions = {}) {
    return this.request<T>('POST', path, { ...o, body });
  }
  patch<T = any>(path: string, body?: unknown, o: RequestOptions = {}) {
    return this.request<T>('PATCH', path, { ...o, body });
  }
  put<T = any>(path: string, body?: unknown, o: RequestOptions = {}) {
    return this.request<T>('PUT', path, { ...o, body });
  }
  delete<T = any>(path: string, o?: RequestOptions) {
    return this.request<T>('DELETE', path, o);
  }

  /** The same server, unauthenticated. */
  anonymous(): ApiClient {
    return new ApiClient(this.base);
  }
}

/** Logs in as the panel does; the client sends the cookie and the CSRF token. */
export async function login(server: TestServer | string, password = ADMIN_PASSWORD, headers: Record<string, string> = {}): Promise<ApiClient> {
  const base = typeof server === 'string' ? server : server.httpUrl;
  const res = await new ApiClient(base).post('/api/v1/auth/login', { username: 'admin', password }, { headers });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0];
  return new ApiClient(base, { cookie, csrf: res.json.csrfToken });
}

/** An API-token client (logs in once to create the token). */
export async function tokenClient(server: TestServer, name = 'test script'): Promise<ApiClient> {
  const session = await login(server);
  const t = await session.post('/api/v1/auth/tokens', { name });
  if (t.status !== 201) throw new Error(`token creation failed: ${t.status} ${t.text}`);
  return new ApiClient(server.httpUrl, { token: t.json.token });
}

/** Every log line and raw output of a server, as one text (secret checks). */
export function allOutput(server: TestServer): string {
  return [...server.logs.map((l) => JSON.stringify(l)), ...server.otherOutput].join('\n');
}
