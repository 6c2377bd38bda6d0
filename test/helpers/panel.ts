/**
 * Driving the admin panel (`/admin/`) in headless Chromium: open it with the
 * console watched (a Content-Security-Policy violation is a console error),
 * log in, move between views, fill settings fields by their settings path.
 * Assertions read DOM state and attributes; page code stays in the page.
 */
import type { Page } from 'playwright-core';
import type { TestBrowser } from './player-browser.js';
import type { TestServer } from './server.js';
import { ADMIN_PASSWORD } from './api.js';

export type PanelPage = Page & { errors: string[]; consoleErrors: string[] };

/** Opens the panel's login view. `consoleErrors` collects console errors other than failed resource loads (404 previews, 401 before login). */
export async function openPanel(browser: TestBrowser, server: TestServer): Promise<PanelPage> {
  const page = (await browser.page()) as PanelPage;
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.consoleErrors.push(m.text());
  });
  await page.goto(`${server.httpUrl}/admin/`);
  await page.waitForSelector('body[data-session="out"]');
  return page;
}

/** Logs in through the login form and waits for the panel and its events channel. */
export async function logIn(page: Page, password = ADMIN_PASSWORD, username = 'admin'): Promise<void> {
  await page.fill('#login-form input[name="username"]', username);
  await page.fill('#login-form input[name="password"]', password);
  await page.click('#login-submit');
  await page.waitForSelector('body[data-session="in"]');
  await page.waitForSelector('#conn[data-state="connected"]', { timeout: 15_000 });
}

/** Clicks a main navigation link and waits for its view. */
export async function nav(page: Page, view: 'streams' | 'recordings' | 'apps' | 'credentials' | 'account'): Promise<void> {
  await page.click(`#nav a[data-nav="${view}"]`);
  await page.waitForSelector(`body[data-view="${view}"]`);
}

/** The control of a settings field, by its settings path, inside a form. */
export function field(form: string, path: string): string {
  return `${form} [data-path="${path}"]`;
}

/** Text of the error shown next to a settings field. */
export async function fieldError(page: Page, form: string, path: string): Promise<string> {
  return (await page.textContent(`${form} [data-error-for="${path}"]`)) ?? '';
}

/** Clicks the confirm button of the open confirmation dialog. */
export async function confirm(page: Page, action = 'confirm'): Promise<void> {
  await page.click(`dialog[open] [data-action="${action}"]`);
}

/** The session cookie of the page's browser context, as a Cookie header. */
export async function sessionCookie(page: Page): Promise<string> {
  const c = (await page.context().cookies()).find((x) => x.name === 'bucketcast_session');
  if (!c) throw new Error('no session cookie');
  return `${c.name}=${c.value}`;
}

/** Marks the page, so `stillNotReloaded` can tell it was not reloaded since. */
export async function markNoReload(page: Page): Promise<void> {
  await page.evaluate('window.__panelNoReload = "kept"');
}

/** True when the mark set by `markNoReload` is still there (no reload, no navigation away). */
export async function stillNotReloaded(page: Page): Promise<boolean> {
  return (await page.evaluate('window.__panelNoReload')) === 'kept';
}

/** An attribute of every element matching a selector, in document order (a string expression: tsx-made functions do not survive page.evaluate). */
export async function attrs(page: Page, selector: string, name: string): Promise<Array<string | null>> {
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((e) => e.getAttribute(${JSON.stringify(name)}))`);
}
