/**
 * Types of the answers the public pages read (JSDoc `import('./types.js')`
 * from play.js, publish.js, index.js and admin/js). Written by hand after the
 * server's answers (src/api, src/http/landing.ts); never loaded by a browser.
 */

/** `GET /landing.json` (src/http/landing.ts). */
export interface LandingFacts {
  rtmpPort: number;
  rtmpsPort: number | null;
  whip: boolean;
}

/** One problem with a field of a request body (`error.details[]` of a 400). */
export interface FieldProblem {
  path?: string;
  message: string;
}

/** What the panel's `h()` and `fill()` take as children (false, null and undefined are left out). */
export type Child = Node | string | number | boolean | null | undefined | readonly Child[];

/** `GET /api/v1/auth/me` (a session). */
export interface Me {
  username: string;
  csrfToken: string;
  [k: string]: unknown;
}

/** `POST /api/v1/applications/<app>/playback-tokens`. */
export interface PlaybackToken {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
  [k: string]: unknown;
}

declare global {
  interface Window {
    /** hls.js, from /vendor/hls.min.js (play.html). */
    Hls?: typeof import('hls.js').default;
  }
}
