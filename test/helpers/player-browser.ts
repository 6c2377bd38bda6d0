/** Headless Chromium (Debian's) for the player tests, with a fresh profile. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface TestBrowser {
  context: BrowserContext;
  /** A new page whose uncaught errors are collected in `errors`. */
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
      return p;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
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
    await page.waitForFunction("document.getElementById('video').currentTime > 5 || ['error', 'not-found'].includes(document.body.dataset.state)", undefined, {
      timeout: 60_000,
      polling: 250,
    });
    return { ...(await playerState(page)), pageErrors: page.errors };
  } finally {
    await page.close();
  }
}
