/** Headless Chromium (Debian's) for the player tests, with a fresh profile. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface TestBrowser {
  context: BrowserContext;
  /** A new page whose uncaught errors and Content-Security-Policy violations are collected in `errors`. */
  page(): Promise<Page & { errors: string[] }>;
  close(): Promise<void>;
}

/** Flags every test browser starts with (Debian's chromium, headless, no background traffic on a closed network). */
export const BASE_CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'bc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...BASE_CHROMIUM_ARGS, '--autoplay-policy=no-user-gesture-required'],
  });
  return {
    context,
    async page() {
      const p = (await context.newPage()) as Page & { errors: string[] };
      p.errors = [];
      p.on('pageerror', (e) => p.errors.push(e.message));
      // Chromium reports a CSP violation (a refused script, style, eval, image, connection or worker) on the console.
      p.on('console', (m) => {
        if (isCspViolation(m.text())) p.errors.push(`CSP: ${m.text()}`);
      });
      return p;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Whether a console message is Chromium's report of a Content-Security-Policy violation. */
export function isCspViolation(text: string): boolean {
  return /Content Security Policy/i.test(text) && /\b(Refused|violates)\b/.test(text);
}

/**
 * Waits until a string expression is true in the page, polling with
 * `page.evaluate` (a DevTools evaluation, which the page's CSP leaves alone).
 * Not `page.waitForFunction`: with an interval it evaluates the string inside
 * the page, which a `script-src 'self'` without 'unsafe-eval' refuses.
 */
export async function waitForPage(page: Page, expression: string, timeoutMs: number, pollMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(`!!(${expression})`)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression} (player state ${JSON.stringify(await playerState(page).catch(() => null))})`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Player state as the page exposes it (read with string expressions: tsx-transformed functions break page.evaluate). */
export async function playerState(page: Page): Promise<{ state: string; message: string; currentTime: number; played: number; errors: number; engine: string; poster: string; source: string }> {
  return page.evaluate(`(() => {
    const v = document.getElementById('video');
    return {
      state: document.body.dataset.state || '',
      message: document.getElementById('message').textContent || '',
      currentTime: v.currentTime,
      played: Number(v.dataset.played || 0),
      errors: Number(v.dataset.errors || 0),
      engine: v.dataset.engine || '',
      poster: v.dataset.poster || '',
      source: v.dataset.source || '',
    };
  })()`);
}

/** Waits until the player has played past 5 s (or gave up), and returns its state. */
export async function playUntilFiveSeconds(browser: TestBrowser, url: string): Promise<Awaited<ReturnType<typeof playerState>> & { pageErrors: string[] }> {
  const page = await browser.page();
  try {
    await page.goto(url);
    await waitForPage(page, "document.getElementById('video').currentTime > 5 || ['error', 'not-found'].includes(document.body.dataset.state)", 60_000);
    return { ...(await playerState(page)), pageErrors: page.errors };
  } finally {
    await page.close();
  }
}
