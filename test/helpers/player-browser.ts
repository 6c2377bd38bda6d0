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

export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'bc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
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
