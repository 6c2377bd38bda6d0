// @ts-check
/**
 * Modal dialogs (`<dialog>`): a confirmation, and the "new AWS credential"
 * form used by the Credentials view and the storage form. Plus the box that
 * shows a secret once (stream keys, API tokens, signing secrets).
 */
import { api } from './api.js';
import { act, copyField, errorBox, h, newId } from './dom.js';
import { ApiError } from './api.js';

/** @typedef {import('../../types.js').Credential} Credential */
/** @typedef {import('../../types.js').Child} Child */

/**
 * Opens a modal dialog titled `title` whose content `build(finish)` makes;
 * resolves with what `finish` is called with (`cancelValue` for Escape).
 */
/**
 * @template V
 * @param {string} kind
 * @param {string} title
 * @param {V} cancelValue
 * @param {(finish: (v: V) => void) => Child} build
 * @returns {Promise<V>}
 */
function modal(kind, title, cancelValue, build) {
  return new Promise((resolve) => {
    const titleId = newId('dlg');
    /** @param {V} v */
    const finish = (v) => {
      dialog.close();
      dialog.remove();
      resolve(v);
    };
    const dialog = h('dialog', { 'aria-labelledby': titleId, 'data-dialog': kind }, h('h2', { id: titleId }, title), build(finish));
    dialog.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      finish(cancelValue);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Asks to confirm; resolves true when confirmed, false when cancelled.
 * @param {{ title: string, text: string | Node, confirmLabel?: string, danger?: boolean }} options
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, text, confirmLabel = 'Confirm', danger = false }) {
  return modal('confirm', title, /** @type {boolean} */ (false), (finish) => [
    typeof text === 'string' ? h('p', {}, text) : text,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: danger ? 'danger' : '', 'data-action': 'confirm', onclick: () => finish(true) }, confirmLabel),
      h('button', { type: 'button', class: 'secondary', 'data-action': 'cancel', onclick: () => finish(false) }, 'Cancel'),
    ),
  ]);
}

/**
 * The form of a new stored AWS credential (access key id + secret + friendly name).
 * @param {(c: Credential) => void} onCreated
 */
export function credentialForm(onCreated) {
  const ids = { name: newId('cred'), akid: newId('cred'), secret: newId('cred') };
  const name = h('input', { id: ids.name, name: 'friendlyName', maxlength: 64, placeholder: 'prod recordings bucket', autocomplete: 'off' });
  const akid = h('input', { id: ids.akid, name: 'accessKeyId', placeholder: 'AKIA…', autocomplete: 'off', spellcheck: 'false' });
  const secret = h('input', { id: ids.secret, name: 'secretAccessKey', type: 'password', autocomplete: 'new-password', spellcheck: 'false' });
  const problems = errorBox();
  const credentialsError = h('span', { class: 'field-error', 'data-error-for': 'credentials' });
  const nameError = h('span', { class: 'field-error', 'data-error-for': 'friendlyName' });
  const submit = h('button', { type: 'submit', 'data-action': 'create-credential' }, 'Save credential');
  const form = h(
    'form',
    { novalidate: true, 'data-form': 'credential' },
    h('div', { class: 'fields' },
      h('div', { class: 'field' }, h('label', { for: ids.name }, 'Friendly name'), name, h('span', { class: 'help' }, 'At most 64 characters.'), nameError),
      h('div', { class: 'field' }, h('label', { for: ids.akid }, 'Access key id'), akid),
      h('div', { class: 'field' }, h('label', { for: ids.secret }, 'Secret access key'), secret, h('span', { class: 'help' }, 'Stored encrypted; never shown again.'), credentialsError),
    ),
    problems,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    credentialsError.textContent = '';
    nameError.textContent = '';
    act(submit, problems, async () => {
      try {
        const c = /** @type {Credential} */ (await api.post('/credentials/aws', { credentials: `${akid.value.trim()}:${secret.value.trim()}`, friendlyName: name.value.trim() || undefined }));
        secret.value = '';
        akid.value = '';
        name.value = '';
        onCreated(c);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 422) throw err;
        for (const d of err.details) (d.path === 'friendlyName' ? nameError : credentialsError).textContent = d.message;
        problems.textContent = 'The credential was not saved: see the marked fields.';
        problems.hidden = false;
      }
    });
  });
  return form;
}

/**
 * Opens the new-credential form in a dialog; resolves with the created credential, or null.
 * @returns {Promise<Credential | null>}
 */
export function credentialDialog() {
  return modal('credential', 'New AWS credential', /** @type {Credential | null} */ (null), (finish) => [
    credentialForm((c) => finish(c)),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => finish(null) }, 'Cancel')),
  ]);
}

/**
 * A box for values shown only once: `[{label, value, name}]`, with a warning.
 * @param {string} title
 * @param {Array<{ label: string, value?: string | null, name?: string }>} fields
 */
export function secretOnce(title, fields, note = 'Copy it now: it is not shown again.') {
  return h(
    'div',
    { class: 'secret-once', role: 'status', 'data-secret-once': 'true' },
    h('strong', {}, title),
    h('p', { class: 'help' }, note),
    fields.map((f) => (f.value ? copyField(f.label, f.value, f.name) : null)),
  );
}
