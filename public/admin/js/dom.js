// @ts-check
/**
 * Small DOM helpers shared by every view: an element builder, formatting of
 * sizes, durations and dates, and `act()`, which runs an async action from a
 * button with a busy state and a plain error message.
 */
import { ApiError, messageOf } from './api.js';

/** @typedef {import('../../types.js').Child} Child */
/** @typedef {Record<string, unknown>} Attrs */

/**
 * Builds an element: `h('button', {class: 'x', onclick: fn, 'data-id': 1}, 'text', child)`.
 * Attributes that are `false`, `null` or `undefined` are left out; `true` sets an empty one.
 */
/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === 'class') el.className = String(v);
    else if (k === 'value' && 'value' in el) el.value = String(v);
    else if (k === 'checked' || k === 'selected') /** @type {any} */ (el)[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const c of /** @type {unknown[]} */ (children).flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/**
 * Replaces an element's children.
 * @template {Element} E
 * @param {E} el
 * @param {...Child} children
 * @returns {E}
 */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique element id. */
export function newId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * "12.3 MB"
 * @param {number | null | undefined} n
 */
export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * "4.2 Mbit/s"
 * @param {number | null | undefined} bps
 */
export function fmtBitrate(bps) {
  if (!bps) return '—';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}

/**
 * "1:02:03", "2:05", or "8.4 s" under a minute.
 * @param {number | null | undefined} seconds
 */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Number(seconds));
  if (s < 60) return `${s.toFixed(1)} s`;
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(Math.floor(s % 60)).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/**
 * A date in the viewer's locale, with the ISO value as tooltip.
 * @param {string | null | undefined} iso
 */
export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * A <time> element for an ISO date.
 * @param {string | null | undefined} iso
 */
export function timeEl(iso) {
  return h('time', { datetime: iso, title: iso }, fmtDate(iso));
}

/**
 * Shows an error (an ApiError or anything else) in a box, with field problems listed.
 * @param {HTMLElement} box
 * @param {unknown} err
 */
export function showError(box, err, prefix = '') {
  /** @type {import('../../types.js').FieldProblem[]} */
  const details = err instanceof ApiError ? err.details : [];
  fill(box, prefix, messageOf(err), details.length ? h('ul', {}, details.map((d) => h('li', {}, d.path ? `${d.path}: ${d.message}` : d.message))) : null);
  box.hidden = false;
  box.className = 'error-box';
  box.setAttribute('role', 'alert');
}

/** An empty error box (hidden until something goes wrong). */
export function errorBox() {
  return h('div', { class: 'error-box', role: 'alert', hidden: true });
}

/**
 * A short message at the bottom right that goes away by itself.
 * @param {string} message
 * @param {'info' | 'error' | 'ok' | 'warn'} [kind]
 */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast ${kind}` }, message);
  box?.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

/**
 * Runs an async action started by a button: the button is disabled and marked
 * busy meanwhile; an error is shown in `errorEl` (or as a toast) in plain
 * words. A session that ended is handled by the API module (login view).
 * Returns the action's result, or undefined when it failed.
 */
/**
 * @template T
 * @param {HTMLButtonElement | null | undefined} button
 * @param {HTMLElement | null | undefined} errorEl
 * @param {() => Promise<T> | T} fn
 * @returns {Promise<T | undefined>}
 */
export async function act(button, errorEl, fn) {
  if (button && button.disabled) return undefined;
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  if (errorEl) errorEl.hidden = true;
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.sessionEnded) return undefined;
    if (errorEl) showError(errorEl, err);
    else toast(messageOf(err), 'error');
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

/**
 * A read-only text field with a Copy button (for values shown once).
 * @param {string} label
 * @param {string} value
 * @param {string} [name]
 */
export function copyField(label, value, name) {
  const id = newId('copy');
  const input = h('input', { id, readonly: true, value, 'data-copy': name || label, spellcheck: 'false' });
  const button = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(value);
      toast(`${label} copied`);
    } catch {
      // No clipboard access (plain HTTP on another host): the text is selected for Ctrl+C.
      toast('Press Ctrl+C (⌘C) to copy the selected text');
    }
  });
  return h('div', { class: 'copy-field' }, h('label', { for: id }, label), input, button);
}
