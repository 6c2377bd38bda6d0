// @ts-check
/**
 * The publish security tab: the mode (a settings form), stream keys (issue
 * one and see OBS's Server + Stream Key once; list; revoke), the signing
 * secret (create or rotate, shown once) and minting a signed token.
 */
import { api, ApiError, messageOf, seg } from '../api.js';
import { act, errorBox, fill, h, newId, timeEl } from '../dom.js';
import { confirmDialog, secretOnce } from '../dialogs.js';
import { settingsSection } from './settings-section.js';
import { SECURITY_GROUPS } from './settings-fields.js';

/**
 * OBS's fields and the WHIP settings from an API answer's `publish`.
 * @param {import('../../../types.js').PublishUrls} publish
 * @param {string} secretLabel
 * @param {string} secretValue
 */
function publishFields(publish, secretLabel, secretValue) {
  return [
    { label: 'OBS Server', value: publish.rtmp.server, name: 'obs-server' },
    { label: 'OBS Stream Key', value: publish.rtmp.streamKey, name: 'obs-stream-key' },
    { label: 'RTMP URL', value: publish.rtmp.url, name: 'rtmp-url' },
    { label: 'WHIP URL', value: publish.whip && publish.whip.url, name: 'whip-url' },
    { label: secretLabel, value: secretValue, name: 'secret' },
  ];
}

/**
 * @param {string} label
 * @param {Record<string, unknown>} attrs
 */
function textField(label, attrs) {
  const id = newId('sec');
  return { input: h('input', { id, ...attrs }), field: (/** @type {HTMLInputElement} */ input) => h('div', { class: 'field' }, h('label', { for: id }, label), input) };
}

/**
 * @param {HTMLElement} container
 * @param {import('../../../types.js').AppTabContext} ctx
 */
export async function renderSecurity(container, { name, view, onSaved }) {
  settingsSection(container, { name, settings: view.settings, groups: SECURITY_GROUPS, id: 'security-form', onSaved: (v) => (onSaved(v), showModeNote(v)) });
  const modeNote = h('p', { class: 'notice', id: 'mode-note' });
  /** @param {import('../../../types.js').Application} v */
  const showModeNote = (v) => {
    const mode = v.settings.publishSecurity.mode;
    modeNote.textContent = mode === 'none' ? 'Anyone who knows an application and stream id may publish. Keys and tokens below are only checked in their mode.' : mode === 'streamKeys' ? 'Publishers need the stream id’s key.' : 'Publishers need a token signed with the secret below.';
  };
  showModeNote(view);
  container.append(modeNote, streamKeys(name), signingSecret(name), mintToken(name));
}

/** @param {string} app */
function streamKeys(app) {
  const list = h('div', { id: 'stream-keys' });
  const problems = errorBox();
  const result = h('div', { id: 'key-result' });
  const sid = textField('Stream id', { name: 'streamId', placeholder: 'cam1', autocomplete: 'off' });
  const issue = h('button', { type: 'submit', 'data-action': 'issue-key' }, 'Issue key');
  const form = h('form', { class: 'inline-form', novalidate: true }, sid.field(sid.input), issue);
  const load = async () => {
    const { streamKeys: keys } = /** @type {{ streamKeys: import('../../../types.js').StreamKey[] }} */ (await api.get(`/applications/${seg(app)}/stream-keys`));
    fill(
      list,
      keys.length === 0
        ? h('p', { class: 'empty' }, 'No stream keys yet.')
        : h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, h('th', {}, 'Stream id'), h('th', {}, 'Key'), h('th', {}, 'Issued'), h('th', {}, 'Last used'), h('th', {}, ''))),
            h('tbody', {}, keys.map((k) => {
              const revoke = h('button', { type: 'button', class: 'danger small', 'data-action': 'revoke-key' }, 'Revoke');
              revoke.addEventListener('click', async () => {
                if (!(await confirmDialog({ title: `Revoke the key of ${k.streamId}?`, text: 'Publishers using it are refused from their next publish (a live one is not cut: kick it from Live streams).', confirmLabel: 'Revoke', danger: true }))) return;
                await act(revoke, problems, async () => {
                  await api.del(`/applications/${seg(app)}/stream-keys/${seg(k.streamId)}`);
                  await load();
                });
              });
              return h('tr', { 'data-stream-key': k.streamId }, h('td', {}, k.streamId), h('td', {}, h('code', {}, k.hint)), h('td', {}, timeEl(k.createdAt)), h('td', {}, k.lastUsedAt ? timeEl(k.lastUsedAt) : 'never'), h('td', {}, revoke));
            })),
          )),
    );
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(issue, problems, async () => {
      const k = /** @type {import('../../../types.js').IssuedStreamKey} */ (await api.post(`/applications/${seg(app)}/stream-keys`, { streamId: sid.input.value.trim() }));
      fill(result, secretOnce(`${k.replaced ? 'New key (the old one no longer works)' : 'Stream key'} for ${k.streamId}`, publishFields(k.publish, 'Stream key / WHIP bearer token', k.key)));
      sid.input.value = '';
      await load();
    });
  });
  load().catch((err) => !(err instanceof ApiError && err.sessionEnded) && fill(list, h('div', { class: 'error-box' }, messageOf(err))));
  return h('section', { class: 'card', 'aria-labelledby': 'keys-title' }, h('h2', { id: 'keys-title' }, 'Stream keys'), h('p', { class: 'help' }, 'A secret per stream id. Issuing a key again replaces the old one.'), form, problems, result, list);
}

/** @param {string} app */
function signingSecret(app) {
  const status = h('p', { id: 'secret-status' });
  const problems = errorBox();
  const result = h('div', { id: 'secret-result' });
  const rotate = h('button', { type: 'button', class: 'secondary', 'data-action': 'rotate-secret' }, 'Create secret');
  let exists = false;
  const load = async () => {
    const s = /** @type {import('../../../types.js').SigningSecretInfo} */ (await api.get(`/applications/${seg(app)}/signing-secret`));
    exists = s.exists;
    fill(status, s.exists ? ['A signing secret exists (created ', timeEl(s.createdAt), ').'] : 'No signing secret yet.');
    rotate.textContent = s.exists ? 'Rotate secret' : 'Create secret';
  };
  rotate.addEventListener('click', async () => {
    if (exists && !(await confirmDialog({ title: 'Rotate the signing secret?', text: 'Every token signed with the current secret stops working.', confirmLabel: 'Rotate', danger: true }))) return;
    await act(rotate, problems, async () => {
      const s = /** @type {import('../../../types.js').NewSigningSecret} */ (await api.post(`/applications/${seg(app)}/signing-secret`));
      fill(result, secretOnce('Signing secret', [{ label: 'Secret', value: s.secret, name: 'signing-secret' }], 'Copy it now into your backend (it signs tokens as the README describes): it is not shown again.'));
      await load();
    });
  });
  load().catch((err) => !(err instanceof ApiError && err.sessionEnded) && fill(status, messageOf(err)));
  return h('section', { class: 'card', 'aria-labelledby': 'secret-title' }, h('h2', { id: 'secret-title' }, 'Signing secret'), status, h('div', { class: 'actions' }, rotate), problems, result);
}

/** @param {string} app */
function mintToken(app) {
  const sid = textField('Stream id', { name: 'tokenStreamId', placeholder: 'cam1', autocomplete: 'off' });
  const life = textField('Valid for (seconds)', { name: 'expiresInSeconds', type: 'number', min: 1, value: '3600' });
  const mint = h('button', { type: 'submit', 'data-action': 'mint-token' }, 'Mint token');
  const problems = errorBox();
  const result = h('div', { id: 'token-result' });
  const form = h('form', { class: 'inline-form', novalidate: true }, sid.field(sid.input), life.field(life.input), mint);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(mint, problems, async () => {
      const t = /** @type {import('../../../types.js').PublishToken} */ (await api.post(`/applications/${seg(app)}/publish-tokens`, { streamId: sid.input.value.trim(), expiresInSeconds: Number(life.input.value) }));
      fill(result, secretOnce(`Token for ${t.streamId}, valid until ${new Date(t.expiresAt).toLocaleString()}`, publishFields(t.publish, 'Token / WHIP bearer token', t.token), 'Tokens are not stored: copy it now.'));
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'mint-title' }, h('h2', { id: 'mint-title' }, 'Mint a publish token'), h('p', { class: 'help' }, 'Signed with the signing secret (created now if there is none); checked in signed-token mode.'), form, problems, result);
}
