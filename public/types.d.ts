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
