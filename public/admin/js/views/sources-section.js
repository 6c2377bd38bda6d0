// @ts-check
/**
 * Sources and imports on the Live streams view: every app's sources (pulled
 * cameras, RTMP/HLS pulls, SRT) with their state and last error, and the
 * imports of this run with their progress. Follows `source.state` and
 * `import.progress` events, and re-reads every few seconds.
 *
 * State for tests: `tr[data-source="<app>/<streamId>"][data-state]` with its
 * `[data-last-error]` cell; `tr[data-import="<id>"][data-state]`.
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').SourceView} SourceView */
/** @typedef {import('../../../types.js').ImportView} ImportView */
import { fill, h, showError } from '../dom.js';
import { on } from '../events.js';

const REFRESH_MS = 5000;
/** @type {Record<string, string>} */
const BADGE = { live: 'ok', connecting: 'info', failed: 'bad', idle: '', disabled: '' };

export function sourcesSection() {
  const sources = h('tbody', {});
  const imports = h('tbody', {});
  // Not an `error-box` while hidden, and silent when the server cannot be reached (the streams list above says so once).
  const problems = h('div', { id: 'sources-problems', hidden: true });
  const el = h(
    'section',
    { id: 'sources', class: 'card' },
    h('h2', {}, 'Sources'),
    problems,
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Stream'), h('th', {}, 'URL'), h('th', {}, 'State'), h('th', {}, 'Last error'))), sources)),
    h('h2', {}, 'Imports'),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Stream'), h('th', {}, 'URL'), h('th', {}, 'State'), h('th', {}, 'Progress'))), imports)),
  );
  /** @type {Promise<void> | null} */
  let loading = null;
  /** @returns {Promise<void>} */
  const load = async () => {
    if (loading) return loading;
    loading = (async () => {
      try {
        const { applications } = /** @type {{ applications: import('../../../types.js').Application[] }} */ (await api.get('/applications'));
        const all = await Promise.all(
          applications.map(async (a) => ({
            sources: /** @type {{ sources: SourceView[] }} */ (await api.get(`/applications/${seg(a.name)}/sources`)).sources,
            imports: /** @type {{ imports: ImportView[] }} */ (await api.get(`/applications/${seg(a.name)}/imports`)).imports,
          })),
        );
        problems.hidden = true;
        problems.className = '';
        const srcRows = all.flatMap((x) => x.sources).map((s) =>
          h(
            'tr',
            { 'data-source': `${s.app}/${s.streamId}`, 'data-state': s.state },
            h('td', {}, h('code', {}, `${s.app}/${s.streamId}`)),
            h('td', {}, h('code', {}, s.url ?? '—')),
            h('td', {}, h('span', { class: `badge ${BADGE[s.state] ?? ''}` }, s.state)),
            h('td', { 'data-last-error': '' }, s.lastError ?? ''),
          ),
        );
        fill(sources, srcRows.length ? srcRows : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No sources. Add one with POST /api/v1/applications/<app>/sources or in the config file.')));
        const impRows = all.flatMap((x) => x.imports).map((i) =>
          h(
            'tr',
            { 'data-import': i.importId, 'data-state': i.state },
            h('td', {}, h('code', {}, `${i.app}/${i.streamId}`)),
            h('td', {}, h('code', {}, i.url)),
            h('td', {}, h('span', { class: `badge ${i.state === 'failed' ? 'bad' : i.state === 'completed' ? 'ok' : 'info'}` }, i.state)),
            h('td', {}, i.error ?? (i.progress === null ? `${Math.round(i.seconds)} s` : `${Math.round(i.progress * 100)} %`)),
          ),
        );
        fill(imports, impRows.length ? impRows : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No imports since the server started.')));
      } catch (err) {
        if (err instanceof ApiError && !err.sessionEnded && err.status) showError(problems, err, 'Sources could not be loaded: ');
      } finally {
        loading = null;
      }
    })();
    return loading;
  };
  load();
  const timer = setInterval(load, REFRESH_MS);
  const offs = ['source.state', 'import.progress', 'reconnected'].map((t) => on(t, () => load()));
  return {
    el,
    dispose() {
      clearInterval(timer);
      offs.forEach((off) => off());
    },
  };
}
