/** Who is logged in, and what the server said about itself (`GET /server`), shared by the views. */
export const session = {
  /** `unknown` until the first `GET /auth/me`, then `in` or `out`. */
  state: 'unknown',
  /** `{username}` while logged in. */
  user: null,
  /** `{version, rtmpPort, publicUrl, …}` once loaded. */
  server: null,
};
