// @ts-check
/**
 * Stored AWS credentials (Twilio-style): create (access key id + secret +
 * friendly name; the secret is never shown again), list with paging (page
 * tokens), rename, delete — refused while an application uses it, which is
 * said plainly with the applications named.
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').Credential} Credential */
/** @typedef {{ token: string | undefined, page: number }} PageState */
import { act, errorBox, fill, h, newId, showError, timeEl, toast } from '../dom.js';
import { confirmDialog, credentialForm } from '../dialogs.js';

const PAGE_SIZE = 20;

/** @param {HTMLElement} main */
export function render(main) {
  const list = h('div', { id: 'credentials-list' }, h('p', { class: 'loading', 'aria-busy': 'true' }, 'Loading…'));
  /** @type {PageState} */
  const state = { token: undefined, page: 0 };
  const load = () => loadPage(list, state, load);
  fill(
    main,
    h('h1', {}, 'Credentials'),
    h('p', { class: 'help' }, 'AWS access keys for S3 storage, kept encrypted on the server. Pick one in an application’s S3 storage settings (credentials: a stored credential).'),
    list,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'new-cred-title' },
      h('h2', { id: 'new-cred-title' }, 'New AWS credential'),
      credentialForm((c) => {
        toast(`Credential “${c.friendlyName || c.sid}” saved`);
        state.token = undefined;
        state.page = 0;
        load();
      }),
    ),
  );
  load();
}

/**
 * @param {HTMLElement} list
 * @param {PageState} state
 * @param {() => Promise<void>} reload
 */
async function loadPage(list, state, reload) {
  try {
    const r = /** @type {import('../../../types.js').CredentialPage} */ (await api.get('/credentials/aws', { pageSize: PAGE_SIZE, pageToken: state.token }));
    const problems = errorBox();
    const pager = h(
      'div',
      { class: 'actions', 'aria-label': 'Pages' },
      h('button', { type: 'button', class: 'secondary small', disabled: !r.meta.previousPageToken, onclick: () => ((state.token = r.meta.previousPageToken ?? undefined), (state.page -= 1), reload()) }, '← Previous'),
      h('span', { class: 'help' }, `Page ${state.page + 1}`),
      h('button', { type: 'button', class: 'secondary small', disabled: !r.meta.nextPageToken, onclick: () => ((state.token = r.meta.nextPageToken ?? undefined), (state.page += 1), reload()) }, 'Next →'),
    );
    fill(
      list,
      problems,
      r.credentials.length === 0
        ? h('p', { class: 'empty' }, 'No stored credentials yet.')
        : h('div', { class: 'table-wrap' }, h('table', { class: 'stack' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Friendly name'), h('th', {}, 'Access key'), h('th', { class: 'hide-sm' }, 'Id'), h('th', {}, 'Used by'), h('th', { class: 'hide-sm' }, 'Created'), h('th', {}, ''))),
            h('tbody', {}, r.credentials.map((c) => row(c, problems, reload))),
          )),
      r.meta.previousPageToken || r.meta.nextPageToken ? pager : null,
    );
  } catch (err) {
    if (err instanceof ApiError && err.sessionEnded) return;
    const box = errorBox();
    showError(box, err, 'Credentials could not be loaded: ');
    fill(list, box);
  }
}

/**
 * @param {Credential} c
 * @param {HTMLElement} problems
 * @param {() => Promise<void>} reload
 */
function row(c, problems, reload) {
  const nameCell = h('td', {});
  const showName = () => fill(nameCell, c.friendlyName || h('span', { class: 'help' }, '(no name)'));
  showName();
  const rename = h('button', { type: 'button', class: 'secondary small', 'data-action': 'rename' }, 'Rename');
  rename.addEventListener('click', () => {
    const id = newId('rename');
    const input = h('input', { id, value: c.friendlyName, maxlength: 64, 'aria-label': `New name for ${c.sid}` });
    const error = h('span', { class: 'field-error' });
    const ok = h('button', { type: 'submit', class: 'small' }, 'Save');
    const form = h('form', { class: 'row', novalidate: true }, input, ok, h('button', { type: 'button', class: 'secondary small', onclick: showName }, 'Cancel'), error);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act(ok, problems, async () => {
        try {
          const updated = /** @type {Credential} */ (await api.patch(`/credentials/aws/${seg(c.sid)}`, { friendlyName: input.value.trim() }));
          Object.assign(c, updated);
          showName();
          toast('Renamed');
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 422) throw err;
          error.textContent = err.details.map((d) => d.message).join('; ');
        }
      });
    });
    fill(nameCell, form);
    input.focus();
  });
  const del = h('button', { type: 'button', class: 'danger small', 'data-action': 'delete' }, 'Delete');
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: `Delete credential ${c.friendlyName || c.sid}?`, text: 'The encrypted key is removed from the server. Applications cannot use it any more.', confirmLabel: 'Delete', danger: true });
    if (!ok) return;
    await act(del, problems, async () => {
      await api.del(`/credentials/aws/${seg(c.sid)}`);
      toast('Credential deleted');
      await reload();
    });
  });
  return h(
    'tr',
    { 'data-credential': c.sid },
    nameCell,
    h('td', {}, h('code', {}, c.accessKeyIdHint)),
    h('td', { class: 'hide-sm' }, h('code', {}, c.sid)),
    h('td', {}, c.usedBy.length ? c.usedBy.map((a, i) => [i ? ', ' : '', h('a', { href: `#/apps/${seg(a)}/storage` }, a)]) : h('span', { class: 'help' }, 'no application')),
    h('td', { class: 'hide-sm' }, timeEl(c.dateCreated)),
    h('td', {}, h('div', { class: 'row' }, rename, del)),
  );
}
