// @ts-check
/**
 * The login view. A wrong password says so; a lockout (429) says how long it
 * lasts (from `Retry-After`) and keeps the button disabled until then. The
 * hint explains where the first password comes from.
 */
import { ApiError, messageOf, request } from '../api.js';
import { fill, h, newId } from '../dom.js';

/** @type {ReturnType<typeof setInterval> | undefined} */
let lockTimer;

/**
 * @param {HTMLElement} main
 * @param {{ reason?: string, onLoggedIn: (me: import('../../../types.js').Me) => void }} options
 */
export function render(main, { reason, onLoggedIn }) {
  const userId = newId('user');
  const passId = newId('pass');
  const username = h('input', { id: userId, name: 'username', autocomplete: 'username', value: 'admin', required: true });
  const password = h('input', { id: passId, name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', id: 'login-submit' }, 'Log in');
  const status = h('div', { id: 'login-error', class: 'error-box', role: 'alert', hidden: true });
  const form = h(
    'form',
    { id: 'login-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: userId }, 'User name'), username),
    h('div', { class: 'field' }, h('label', { for: passId }, 'Password'), password),
    status,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    if (!password.value) {
      showStatus(status, 'Enter the password.', 'error');
      password.focus();
      return;
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    status.hidden = true;
    try {
      const answer = /** @type {import('../../../types.js').Me} */ (await request('POST', '/auth/login', { body: { username: username.value.trim() || 'admin', password: password.value }, quiet401: true }));
      password.value = '';
      onLoggedIn({ user: answer.user, csrfToken: answer.csrfToken, expiresAt: answer.expiresAt, mustChangePassword: answer.mustChangePassword });
    } catch (err) {
      submit.removeAttribute('aria-busy');
      if (err instanceof ApiError && err.status === 429) {
        lockedOut(status, submit, err.retryAfterSeconds || 60);
        return;
      }
      submit.disabled = false;
      showStatus(status, messageOf(err), 'error');
      password.select();
    }
  });

  fill(
    main,
    h(
      'section',
      { class: 'login card', 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, 'Log in to bucketcast'),
      reason ? h('p', { class: 'notice', id: 'login-reason' }, reason) : null,
      form,
      h(
        'details',
        { class: 'help', id: 'login-hint' },
        h('summary', {}, 'First start? Where the password comes from'),
        h('p', {}, 'The user is ', h('code', {}, 'admin'), '. Its first password is ', h('code', {}, 'BUCKETCAST_ADMIN_PASSWORD'), ' if it was set when the server first started.'),
        h(
          'p',
          {},
          'Otherwise the server generated one into the file ',
          h('code', {}, 'admin-password.txt'),
          ' in its data dir (readable by the server\'s user only; the log names the path). You will be asked to change it after logging in.',
        ),
      ),
    ),
  );
  password.focus();
}

/**
 * @param {HTMLElement} box
 * @param {string} text
 * @param {'error' | 'warn'} kind
 */
function showStatus(box, text, kind) {
  box.className = kind === 'error' ? 'error-box' : 'warn-box';
  box.textContent = text;
  box.hidden = false;
}

/** Too many failed logins: the button stays disabled, with a countdown, until the lockout ends. */
/**
 * @param {HTMLElement} box
 * @param {HTMLButtonElement} submit
 * @param {number} seconds
 */
function lockedOut(box, submit, seconds) {
  clearInterval(lockTimer);
  const until = Date.now() + seconds * 1000;
  box.dataset.locked = 'true';
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    if (left === 0 || !box.isConnected) {
      clearInterval(lockTimer);
      delete box.dataset.locked;
      submit.disabled = false;
      if (box.isConnected) showStatus(box, 'You can try again now.', 'warn');
      return;
    }
    const mm = Math.floor(left / 60);
    const ss = String(left % 60).padStart(2, '0');
    showStatus(box, `Too many failed attempts: logging in is locked for ${mm}:${ss} (minutes:seconds). Even the right password is refused until then.`, 'error');
  };
  submit.disabled = true;
  tick();
  lockTimer = setInterval(tick, 1000);
}
