// @ts-check
/**
 * Account: change the admin password (other sessions end; this one stays),
 * and API tokens for scripts (create — shown once —, list, revoke).
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').ApiToken} ApiToken */
/** @typedef {{ el: HTMLInputElement, error: HTMLElement, row: HTMLElement }} Input */
import { act, errorBox, fill, h, newId, showError, timeEl, toast } from '../dom.js';
import { confirmDialog, secretOnce } from '../dialogs.js';
import { session } from '../session.js';

/** @param {HTMLElement} main */
export function render(main) {
  fill(main, h('h1', {}, 'Account'), h('p', { class: 'help' }, 'Logged in as ', h('code', {}, session.user ? session.user.username : 'admin'), '.'), passwordCard(), tokensCard());
}

/**
 * @param {string} label
 * @param {Record<string, unknown> & { name: string }} attrs
 * @param {string} [help]
 * @returns {Input}
 */
function input(label, attrs, help) {
  const id = newId('acc');
  const el = h('input', { id, ...attrs });
  const error = h('span', { class: 'field-error', 'data-error-for': attrs.name });
  return { el, error, row: h('div', { class: 'field' }, h('label', { for: id }, label), el, help ? h('span', { class: 'help' }, help) : null, error) };
}

function passwordCard() {
  const current = input('Current password', { name: 'currentPassword', type: 'password', autocomplete: 'current-password' });
  const next = input('New password', { name: 'newPassword', type: 'password', autocomplete: 'new-password' }, 'At least 12 characters.');
  const again = input('New password again', { name: 'confirm', type: 'password', autocomplete: 'new-password' });
  const problems = errorBox();
  const submit = h('button', { type: 'submit', 'data-action': 'change-password' }, 'Change password');
  const form = h('form', { id: 'password-form', novalidate: true }, h('div', { class: 'fields' }, current.row, next.row, again.row), problems, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    for (const f of [current, next, again]) f.error.textContent = '';
    if (next.el.value !== again.el.value) {
      again.error.textContent = 'does not match the new password';
      again.el.focus();
      return;
    }
    act(submit, problems, async () => {
      try {
        const r = /** @type {import('../../../types.js').PasswordChanged} */ (await api.post('/auth/password', { currentPassword: current.el.value, newPassword: next.el.value }));
        for (const f of [current, next, again]) f.el.value = '';
        toast(`Password changed${r.sessionsEnded ? `; ${r.sessionsEnded} other session(s) ended` : ''}`);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.status === 422) {
          for (const d of err.details) (d.path === 'currentPassword' ? current : next).error.textContent = d.message;
          return;
        }
        if (err.code === 'wrong_password') {
          current.error.textContent = 'this is not the current password';
          current.el.focus();
          return;
        }
        throw err;
      }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'pw-title' }, h('h2', { id: 'pw-title' }, 'Change password'), form);
}

function tokensCard() {
  const list = h('div', { id: 'tokens-list' });
  const problems = errorBox();
  const result = h('div');
  const name = input('Name', { name: 'name', placeholder: 'backup script', maxlength: 100, autocomplete: 'off' });
  const days = input('Expires after (days)', { name: 'expiresInDays', type: 'number', min: 1, max: 3650, placeholder: 'never' });
  const create = h('button', { type: 'submit', 'data-action': 'create-token' }, 'Create token');
  const form = h('form', { class: 'inline-form', novalidate: true }, name.row, days.row, create);
  const load = async () => {
    const { tokens } = /** @type {{ tokens: ApiToken[] }} */ (await api.get('/auth/tokens'));
    fill(
      list,
      tokens.length === 0
        ? h('p', { class: 'empty' }, 'No API tokens.')
        : h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Token'), h('th', {}, 'Created'), h('th', {}, 'Expires'), h('th', {}, 'Last used'), h('th', {}, ''))),
            h('tbody', {}, tokens.map((t) => {
              const revoke = h('button', { type: 'button', class: 'danger small', 'data-action': 'revoke-token' }, 'Revoke');
              revoke.addEventListener('click', async () => {
                if (!(await confirmDialog({ title: `Revoke token ${t.name}?`, text: 'Scripts using it are refused from now on.', confirmLabel: 'Revoke', danger: true }))) return;
                await act(revoke, problems, async () => (await api.del(`/auth/tokens/${seg(t.id)}`), toast('Token revoked'), load()));
              });
              return h('tr', { 'data-token': t.id }, h('td', {}, t.name), h('td', {}, h('code', {}, t.hint)), h('td', {}, timeEl(t.createdAt)), h('td', {}, t.expiresAt ? timeEl(t.expiresAt) : 'never'), h('td', {}, t.lastUsedAt ? timeEl(t.lastUsedAt) : 'never'), h('td', {}, revoke));
            })),
          )),
    );
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    name.error.textContent = '';
    days.error.textContent = '';
    act(create, problems, async () => {
      try {
        const t = /** @type {ApiToken} */ (await api.post('/auth/tokens', { name: name.el.value.trim(), expiresInDays: days.el.value ? Number(days.el.value) : undefined }));
        fill(result, secretOnce(`API token “${t.name}”`, [{ label: 'Token', value: t.token, name: 'api-token' }], 'Send it as “Authorization: Bearer <token>”. Copy it now: it is not shown again.'));
        name.el.value = '';
        days.el.value = '';
        await load();
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 422) throw err;
        for (const d of err.details) (d.path === 'expiresInDays' ? days : name).error.textContent = d.message;
      }
    });
  });
  load().catch((err) => {
    if (!(err instanceof ApiError && err.sessionEnded)) showError(problems, err, 'Tokens could not be loaded: ');
  });
  return h('section', { class: 'card', 'aria-labelledby': 'tokens-title' }, h('h2', { id: 'tokens-title' }, 'API tokens'), h('p', { class: 'help' }, 'For scripts and monitoring (Prometheus): no CSRF header needed.'), form, problems, result, list);
}
