// @ts-check
/** Who is logged in, and what the server said about itself (`GET /server`), shared by the views. */
/** @type {{ state: 'unknown' | 'in' | 'out', user: { username: string } | null, server: import('../../types.js').ServerFacts | null }} */
export const session = {
  /** `unknown` until the first `GET /auth/me`, then `in` or `out`. */
  state: 'unknown',
  /** `{username}` while logged in. */
  user: null,
  /** `{version, rtmpPort, publicUrl, …}` once loaded. */
  server: null,
};
