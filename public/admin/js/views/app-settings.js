// @ts-check
/**
 * One application's settings (`#/apps/<name>/<tab>`), one tab per area:
 * recording and previews, S3 storage, HTTP forwarding, publish security,
 * webhooks. The header says where the settings come from (`source`): the
 * config file, or saved through the API (which then owns them).
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').Application} Application */
/** @typedef {import('../../../types.js').AppTabContext} AppTabContext */
import { errorBox, fill, h, showError } from '../dom.js';
import { settingsSection } from './settings-section.js';
import { FORWARDING_GROUPS, RECORDING_GROUPS } from './settings-fields.js';
import { renderStorage } from './storage-section.js';
import { renderSecurity } from './security-section.js';
import { renderWebhooks } from './webhooks-section.js';
import { forgetViewingTokens } from '../viewing.js';

const TABS = [
  { id: 'recording', label: 'Recording & previews' },
  { id: 'storage', label: 'S3 storage' },
  { id: 'forwarding', label: 'HTTP forwarding' },
  { id: 'security', label: 'Publish security' },
  { id: 'webhooks', label: 'Webhooks' },
];

/**
 * @param {HTMLElement} main
 * @param {Record<string, string | undefined>} params `app` and `tab` from the route
 */
export function render(main, { app: name = '', tab = 'recording' }) {
  const current = TABS.find((t) => t.id === tab) || TABS[0];
  const header = h('div', { class: 'app-header' });
  const body = h('div', { id: 'app-tab', 'data-tab': current.id }, h('p', { class: 'loading', 'aria-busy': 'true' }, 'Loading…'));
  fill(
    main,
    h('p', {}, h('a', { href: '#/apps' }, '← Applications')),
    h('h1', {}, 'Application ', h('code', {}, name)),
    header,
    h('nav', { class: 'tabs', 'aria-label': 'Settings areas' }, TABS.map((t) => h('a', { href: `#/apps/${seg(name)}/${t.id}`, 'data-tab': t.id, 'aria-current': t.id === current.id ? 'page' : null }, t.label))),
    body,
  );
  let alive = true;
  (async () => {
    try {
      const view = /** @type {Application} */ (await api.get(`/applications/${seg(name)}`));
      if (!alive) return;
      showHeader(header, view);
      fill(body);
      // Saved settings may make the app private or public, or revoke its viewing tokens: the panel mints afresh.
      /** @type {AppTabContext} */
      const ctx = { name, view, onSaved: (v) => (showHeader(header, v), forgetViewingTokens()) };
      if (current.id === 'recording') settingsSection(body, { ...ctx, settings: view.settings, groups: RECORDING_GROUPS, id: 'recording-form' });
      else if (current.id === 'forwarding') settingsSection(body, { ...ctx, settings: view.settings, groups: FORWARDING_GROUPS, id: 'forwarding-form' });
      else if (current.id === 'storage') await renderStorage(body, ctx);
      else if (current.id === 'security') await renderSecurity(body, ctx);
      else await renderWebhooks(body, ctx);
    } catch (err) {
      if (!alive || (err instanceof ApiError && err.sessionEnded)) return;
      const box = errorBox();
      showError(box, err, err instanceof ApiError && err.status === 404 ? '' : 'The settings could not be loaded: ');
      fill(body, box);
    }
  })();
  return () => {
    alive = false;
  };
}

/**
 * @param {HTMLElement} el
 * @param {Application} view
 */
function showHeader(el, view) {
  const fromApi = view.source === 'api';
  fill(
    el,
    h(
      'p',
      { class: 'row' },
      h('span', { class: `badge ${fromApi ? 'info' : ''}`, id: 'app-source', 'data-source': view.source }, fromApi ? 'Settings saved through the panel/API' : 'Settings from the config file'),
      view.liveStreams ? h('span', { class: 'badge live' }, `${view.liveStreams} live`) : null,
      h('span', { class: 'help' }, 'Publish to ', h('code', {}, `${view.publish.rtmp.server}/<streamId>`)),
    ),
    h(
      'p',
      { class: 'help' },
      fromApi
        ? 'Changes made here are saved in the server’s database and override this application’s entry in the config file.'
        : 'These settings come from the config file. The first change saved here is stored in the server’s database and from then on overrides the file’s entry for this application.',
    ),
  );
}
