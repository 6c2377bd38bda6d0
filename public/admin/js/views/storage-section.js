// @ts-check
/**
 * The S3 storage tab: the storage settings form, a stored-credential picker
 * (with "New credential" in a dialog), and "Test connection", which runs the
 * server's storage validation on the form's unsaved values (a merge patch
 * sent to `POST /applications/<name>/storage/validate`) and shows each step
 * and the permission report in plain words.
 *
 * State for tests: `#storage-report[data-ok]`, each step `li[data-step][data-status]`,
 * each permission `tr[data-permission][data-status]`.
 */
import { api, ApiError, messageOf, seg } from '../api.js';

/** @typedef {import('../../../types.js').ValidationReport} ValidationReport */
import { act, errorBox, fill, h, toast } from '../dom.js';
import { credentialDialog } from '../dialogs.js';
import { settingsSection, showFieldProblems } from './settings-section.js';
import { storageGroups } from './settings-fields.js';

/** @type {Record<string, string>} */
const ICON = { ok: '✓', failed: '✗', denied: '⛔', skipped: '–' };
/** @type {Record<string, string>} */
const STATUS_WORDS = { ok: 'ok', failed: 'failed', denied: 'denied', skipped: 'skipped' };
/** @type {Record<string, string>} */
const PERMISSION_WORDS = { allowed: 'allowed', denied: 'denied', unknown: 'not tried' };

async function credentialOptions() {
  const list = /** @type {import('../../../types.js').CredentialPage} */ (await api.get('/credentials/aws', { pageSize: 1000 }));
  return [
    { value: '', label: list.credentials.length ? 'Choose a credential…' : 'No stored credentials yet: create one' },
    ...list.credentials.map((c) => ({ value: c.sid, label: `${c.friendlyName || c.sid} (${c.accessKeyIdHint})` })),
  ];
}

/**
 * @param {HTMLElement} container
 * @param {import('../../../types.js').AppTabContext} ctx
 */
export async function renderStorage(container, { name, view, onSaved }) {
  const options = await credentialOptions();
  /** @type {import('../forms.js').SettingsForm} */
  let form;
  const newCredential = () =>
    h('button', {
      type: 'button',
      class: 'secondary small',
      'data-action': 'new-credential',
      onclick: async () => {
        const c = await credentialDialog();
        if (!c) return;
        try {
          form.setOptions('s3.credentials.credentialId', await credentialOptions());
          const picker = form.controls.get('s3.credentials.credentialId');
          if (picker) picker.input.value = c.sid;
          toast(`Credential “${c.friendlyName || c.sid}” saved and selected`);
        } catch (err) {
          if (!(err instanceof ApiError && err.sessionEnded)) toast(`The credential was saved, but the list could not be read again: ${messageOf(err)}`, 'error');
        }
      },
    }, 'New credential…');
  const testButton = h('button', { type: 'button', class: 'secondary', 'data-action': 'test-connection' }, 'Test connection');
  const testProblems = errorBox();
  const report = h('section', { id: 'storage-report', class: 'report card', 'aria-live': 'polite', hidden: true });
  form = settingsSection(container, {
    name,
    settings: view.settings,
    groups: storageGroups(options, newCredential),
    id: 'storage-form',
    onSaved,
    extraActions: [testButton, h('span', { class: 'help' }, 'Tests the values in this form, saved or not: writes, reads and deletes a small test object.')],
    after: [testProblems, report],
  });
  testButton.addEventListener('click', () =>
    act(testButton, testProblems, async () => {
      report.hidden = true;
      report.dataset.state = 'running';
      try {
        const result = /** @type {ValidationReport} */ (await api.post(`/applications/${seg(name)}/storage/validate`, form.patch()));
        form.clearErrors();
        showReport(report, result);
      } catch (err) {
        delete report.dataset.state;
        if (!(err instanceof ApiError) || err.status !== 422) throw err;
        showFieldProblems(form, testProblems, err, 'Nothing was tested');
      }
    }),
  );
}

/**
 * @param {HTMLElement} el
 * @param {ValidationReport} r
 */
function showReport(el, r) {
  el.dataset.ok = String(r.ok);
  el.dataset.state = 'done';
  const t = r.target;
  fill(
    el,
    h('h2', {}, 'Connection test'),
    h('div', { class: r.ok ? 'ok-box' : 'error-box', id: 'storage-summary' }, r.ok ? '✓ ' : '✗ ', r.summary),
    h(
      'p',
      { class: 'help' },
      t.embedded ? 'Target: the embedded store on this server' : `Target: bucket ${t.bucket} in ${t.region}${t.endpoint ? ` at ${t.endpoint}` : ''}`,
      t.prefix ? `, prefix “${t.prefix}”` : '',
      t.credentials ? `; credentials: ${t.credentials}` : '',
      r.key ? `; test object ${r.key}` : '',
    ),
    h('h3', {}, 'Steps'),
    h(
      'ol',
      {},
      r.steps.map((s) =>
        h(
          'li',
          { 'data-step': s.step, 'data-status': s.status },
          h('span', { class: 'icon', 'aria-hidden': 'true' }, ICON[s.status] || '?'),
          h('span', {}, h('strong', {}, s.step), h('span', { class: 'sr-status' }, ` — ${STATUS_WORDS[s.status] || s.status}`)),
          h('span', { class: 'msg' }, s.message, s.code ? h('span', { class: 'help' }, ` (${s.code})`) : null),
        ),
      ),
    ),
    h('h3', {}, 'Permissions'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Permission'), h('th', {}, 'S3 action'), h('th', {}, 'Status'), h('th', {}, 'Without it'))),
        h(
          'tbody',
          {},
          r.permissions.map((p) =>
            h(
              'tr',
              { 'data-permission': p.permission, 'data-status': p.status },
              h('td', {}, p.permission),
              h('td', {}, h('code', {}, p.action)),
              h('td', {}, h('span', { class: `badge ${p.status === 'allowed' ? 'ok' : p.status === 'denied' ? 'bad' : ''}` }, PERMISSION_WORDS[p.status] || p.status)),
              h('td', {}, p.status === 'allowed' ? '' : p.cost || ''),
            ),
          ),
        ),
      ),
    ),
    r.warnings && r.warnings.length ? h('div', { class: 'warn-box' }, h('strong', {}, 'Warnings'), h('ul', {}, r.warnings.map((w) => h('li', {}, w)))) : null,
  );
  el.hidden = false;
}
