// @ts-check
/**
 * Applications: the list (where each one's settings come from, live streams,
 * what it records and where it uploads), creating one, deleting one (refused
 * while it has live streams, said plainly).
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').Application} Application */
import { act, errorBox, fill, h, newId, showError, toast } from '../dom.js';
import { confirmDialog } from '../dialogs.js';

/** @param {HTMLElement} main */
export function render(main) {
  const list = h('div', { id: 'apps-list' }, h('p', { class: 'loading', 'aria-busy': 'true' }, 'Loading…'));
  const problems = errorBox();
  const nameId = newId('app');
  const nameInput = h('input', { id: nameId, name: 'name', placeholder: 'studio', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${nameId}-help ${nameId}-err` });
  const nameError = h('span', { class: 'field-error', id: `${nameId}-err`, 'data-error-for': 'name' });
  const create = h('button', { type: 'submit', 'data-action': 'create-app' }, 'Create application');
  const form = h(
    'form',
    { class: 'inline-form', id: 'create-app-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: nameId }, 'Name'), nameInput, h('span', { class: 'help', id: `${nameId}-help` }, 'Letters, digits, - and _; the <app> in rtmp://host/<app>/<streamId>.'), nameError),
    create,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    nameError.textContent = '';
    nameInput.removeAttribute('aria-invalid');
    act(create, problems, async () => {
      try {
        const app = /** @type {Application} */ (await api.post('/applications', { name: nameInput.value.trim() }));
        toast(`Application ${app.name} created`);
        location.hash = `#/apps/${seg(app.name)}/recording`;
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 422) throw err;
        nameError.textContent = err.details.map((d) => d.message).join('; ');
        nameInput.setAttribute('aria-invalid', 'true');
        nameInput.focus();
      }
    });
  });
  fill(
    main,
    h('h1', {}, 'Applications'),
    h('p', { class: 'help' }, 'Each application has its own recording, storage, forwarding, publish security and webhook settings.'),
    list,
    h('section', { class: 'card', 'aria-labelledby': 'create-title' }, h('h2', { id: 'create-title' }, 'New application'), form, problems),
  );
  load(list);
}

/** @param {HTMLElement} list */
async function load(list) {
  try {
    const { applications } = /** @type {{ applications: Application[] }} */ (await api.get('/applications'));
    fill(list, applications.length ? table(applications, list) : h('p', { class: 'empty' }, 'No applications.'));
  } catch (err) {
    if (err instanceof ApiError && err.sessionEnded) return;
    const box = errorBox();
    showError(box, err, 'Applications could not be loaded: ');
    fill(list, box);
  }
}

/** @param {Application['settings']} s */
function storageText(s) {
  if (!s.s3RecordingEnabled) return 'uploads off (kept on this server)';
  return s.s3.bucket ? `s3://${s.s3.bucket}${s.s3.prefix ? `/${s.s3.prefix}` : ''} (${s.s3.storageMode})` : 'embedded store (no bucket set)';
}

/**
 * @param {Application[]} apps
 * @param {HTMLElement} list
 */
function table(apps, list) {
  const problems = errorBox();
  return h(
    'div',
    {},
    problems,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'stack' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Settings from'), h('th', { class: 'num' }, 'Live'), h('th', {}, 'Records'), h('th', { class: 'hide-sm' }, 'Uploads to'), h('th', {}, ''))),
        h(
          'tbody',
          {},
          apps.map((a) => {
            const s = a.settings;
            const del = h('button', { type: 'button', class: 'danger small', 'data-action': 'delete-app' }, 'Delete');
            del.addEventListener('click', async () => {
              const ok = await confirmDialog({
                title: `Delete application ${a.name}?`,
                text: 'Its settings, stream keys and signing secret are deleted. Its recordings stay (on disk and in the bucket) and stay listed under Recordings.',
                confirmLabel: 'Delete application',
                danger: true,
              });
              if (!ok) return;
              await act(del, problems, async () => {
                await api.del(`/applications/${seg(a.name)}`);
                toast(`Application ${a.name} deleted`);
                await load(list);
              });
            });
            const records = [s.mp4MuxingEnabled && 'MP4', s.hlsMuxingEnabled && 'HLS', s.previews.enabled && 'previews'].filter(Boolean).join(' + ') || 'nothing';
            return h(
              'tr',
              { 'data-app': a.name },
              h('td', {}, h('a', { href: `#/apps/${seg(a.name)}/recording` }, a.name)),
              h('td', {}, h('span', { class: `badge ${a.source === 'api' ? 'info' : ''}` }, a.source === 'api' ? 'panel / API' : 'config file')),
              h('td', { class: 'num' }, a.liveStreams),
              h('td', {}, records),
              h('td', { class: 'hide-sm' }, storageText(s)),
              h('td', {}, h('div', { class: 'row' }, h('a', { class: 'button secondary small', href: `#/apps/${seg(a.name)}/storage` }, 'Settings'), del)),
            );
          }),
        ),
      ),
    ),
  );
}
