// @ts-check
/**
 * Recordings: the catalog, newest first, filtered by application, stream id,
 * upload state and start date, paged with the API's page tokens (a stack of
 * them for "previous"). Rows follow the events channel without a reload:
 * progress moves the bars, completed or failed uploads re-read their
 * recording, a new recording appears on the first page. Filters are kept in
 * the URL (`#/recordings?app=live&state=failed`).
 */
import { api, ApiError } from '../api.js';

/** @typedef {import('../../../types.js').BusEvents} BusEvents */
/** @typedef {import('./recording-row.js').RecordingRow} RecordingRow */
import { errorBox, fill, h, newId, showError } from '../dom.js';
import { on } from '../events.js';
import { recordingRow } from './recording-row.js';

const PAGE_SIZE = 20;
const STATES = ['local', 'queued', 'uploading', 'uploaded', 'failed'];

/**
 * @param {HTMLElement} main
 * @param {Record<string, string | undefined>} _params
 * @param {URLSearchParams} query
 */
export function render(main, _params, query) {
  const filters = { app: query.get('app') || '', streamId: query.get('streamId') || '', state: query.get('state') || '', from: query.get('from') || '', to: query.get('to') || '' };
  /** @type {Array<string | undefined>} */
  const tokens = [undefined];
  let page = 0;
  /** @type {Map<string, RecordingRow>} */
  const rows = new Map();
  const problems = errorBox();
  const tbody = h('tbody', {});
  const count = h('p', { class: 'help', id: 'recordings-count', 'aria-live': 'polite' });
  const pager = h('div', { class: 'actions' });
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */
  const pending = new Map();

  /**
   * @param {string} label
   * @param {HTMLInputElement | HTMLSelectElement} input
   */
  const field = (label, input) => {
    input.id = newId('flt');
    return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  };
  const appSelect = h('select', { name: 'app' }, h('option', { value: '' }, 'All applications'));
  const streamInput = h('input', { name: 'streamId', value: filters.streamId, placeholder: 'any', autocomplete: 'off' });
  const stateSelect = h('select', { name: 'state' }, h('option', { value: '' }, 'Any state'), STATES.map((s) => h('option', { value: s, selected: s === filters.state }, s)));
  const fromInput = h('input', { name: 'from', type: 'date', value: filters.from });
  const toInput = h('input', { name: 'to', type: 'date', value: filters.to });
  const apply = h('button', { type: 'submit' }, 'Apply');
  const form = h('form', { class: 'inline-form card', id: 'recording-filters', role: 'search', 'aria-label': 'Filter recordings', novalidate: true },
    field('Application', appSelect), field('Stream id', streamInput), field('Upload state', stateSelect), field('Started from', fromInput), field('Started before', toInput), apply,
    h('button', { type: 'button', class: 'secondary', onclick: () => (location.hash = '#/recordings') }, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of /** @type {Array<[string, HTMLInputElement | HTMLSelectElement]>} */ ([['app', appSelect], ['streamId', streamInput], ['state', stateSelect], ['from', fromInput], ['to', toInput]])) if (el.value.trim()) q.set(k, el.value.trim());
    const hash = `#/recordings${[...q].length ? `?${q}` : ''}`;
    if (location.hash === hash) load();
    else location.hash = hash;
  });

  fill(main, h('h1', {}, 'Recordings'), form, problems, count,
    h('div', { class: 'table-wrap' }, h('table', { id: 'recordings', class: 'stack' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Recording'), h('th', { class: 'hide-sm' }, 'Started'), h('th', { class: 'num' }, 'Duration'), h('th', { class: 'num hide-sm' }, 'Size'), h('th', {}, 'Upload'), h('th', {}, 'Actions'))),
      tbody)),
    pager);

  api.get('/applications').then((answer) => {
    const { applications } = /** @type {{ applications: import('../../../types.js').Application[] }} */ (answer);
    for (const a of applications) appSelect.append(h('option', { value: a.name, selected: a.name === filters.app }, a.name));
  }, () => undefined);

  /** @param {string} id */
  const onDeleted = (id) => {
    const r = rows.get(id);
    if (r) r.rows.forEach((el) => el.remove());
    rows.delete(id);
    load();
  };

  let loads = 0;
  async function load() {
    const mine = ++loads;
    try {
      // `to` is inclusive for people ("before the end of that day"); the API's `to` is exclusive.
      const to = filters.to ? new Date(new Date(`${filters.to}T00:00:00`).getTime() + 86_400_000).toISOString() : undefined;
      const from = filters.from ? new Date(`${filters.from}T00:00:00`).toISOString() : undefined;
      const r = /** @type {import('../../../types.js').RecordingList} */ (await api.get('/recordings', { app: filters.app, streamId: filters.streamId, state: filters.state, from, to, limit: PAGE_SIZE, pageToken: tokens[page] }));
      // An older read answering after a newer one must not put stale rows back.
      if (mine !== loads) return;
      problems.hidden = true;
      rows.clear();
      const made = r.recordings.map((rec) => /** @type {[string, RecordingRow]} */ ([rec.recordingId, recordingRow(rec, { problems, onDeleted })]));
      for (const [id, row] of made) rows.set(id, row);
      fill(tbody, made.length ? made.flatMap(([, row]) => row.rows) : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No recordings match.')));
      count.textContent = `${r.total} recording${r.total === 1 ? '' : 's'}${page ? `, page ${page + 1}` : ''}`;
      tokens[page + 1] = r.nextPageToken || undefined;
      fill(pager, page === 0 && !r.nextPageToken ? null : [
        h('button', { type: 'button', class: 'secondary small', disabled: page === 0, onclick: () => ((page -= 1), load()) }, '← Newer'),
        h('button', { type: 'button', class: 'secondary small', disabled: !r.nextPageToken, onclick: () => ((page += 1), load()) }, 'Older →')]);
    } catch (err) {
      if (!(err instanceof ApiError && err.sessionEnded)) showError(problems, err, 'Recordings could not be loaded: ');
    }
  }

  // A recording this page does not list yet (new, or its events overtook the list read): the first
  // page is read again, a few times until it shows up (the server's listeners that catalog it and
  // announce it are not ordered by contract). Once per recording, so one the filters leave out costs
  // at most three reads.
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */
  const expecting = new Map();
  /** @param {string} id */
  const expectNew = (id) => {
    if (page !== 0 || rows.has(id) || expecting.has(id)) return;
    const delays = [500, 2000, 5000];
    /** @param {number} i */
    const attempt = (i) =>
      expecting.set(id, setTimeout(async () => {
        await load();
        if (!rows.has(id) && i + 1 < delays.length) attempt(i + 1);
      }, delays[i]));
    attempt(0);
  };

  /** Re-reads one recording soon (several events about it in a burst make one request). */
  /** @param {string} id */
  const refreshSoon = (id) => {
    if (!rows.has(id)) return expectNew(id);
    if (pending.has(id)) return;
    pending.set(id, setTimeout(() => {
      pending.delete(id);
      // The row of now: a list read meanwhile makes new ones.
      rows.get(id)?.refresh();
    }, 300));
  };
  const offs = [
    on('upload.progress', (/** @type {BusEvents['upload.progress']} */ e) => {
      const row = rows.get(e.recordingId);
      if (row) row.progress(e);
      else expectNew(e.recordingId);
    }),
    on('upload.completed', (e) => refreshSoon(e.recordingId)),
    on('upload.failed', (e) => refreshSoon(e.recordingId)),
    on('recording.uploaded', (e) => refreshSoon(e.recordingId)),
    on('recording.completed', (e) => refreshSoon(e.recordingId)),
    on('recording.part', (e) => refreshSoon(e.recordingId)),
    on('reconnected', () => load()),
  ];
  load();
  return () => {
    offs.forEach((off) => off());
    for (const t of [...pending.values(), ...expecting.values()]) clearTimeout(t);
  };
}
