// @ts-check
/**
 * The webhooks tab: each webhook's URL, events, secret and enabled flag,
 * saved together as the app's `webhooks` list (a secret left empty keeps the
 * one the webhook has, matched by URL); a test ping per saved webhook; and
 * the app's recent deliveries with retry for failed ones.
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').Application} Application */
/** @typedef {import('../../../types.js').PublicWebhook} PublicWebhook */
/** @typedef {{ url: string, events: import('../../../types.js').WebhookEvent[], enabled: boolean, secret?: string }} WebhookInput */
/**
 * @typedef {{ value(): WebhookInput, clearErrors(): void, showError(key: string | undefined, message: string): boolean, render(i: number): HTMLElement }} Editor
 */
import { act, errorBox, fill, h, newId, timeEl, toast } from '../dom.js';

/** @typedef {import('../../../types.js').WebhookEvent} WebhookEvent */

/**
 * Every event a webhook may ask for, in words. A `Record` over the schema's
 * events: one added there fails the type check until it is listed here (the
 * panel would otherwise drop it from a webhook on save).
 * @type {Record<WebhookEvent, string>}
 */
const EVENT_WORDS = {
  liveStreamStarted: 'a stream went live',
  liveStreamEnded: 'a stream ended',
  recordingReady: 'a recording’s local files are final',
  recordingUploaded: 'a recording is uploaded and verified',
  recordingPartUploaded: 'a part of a recording (recordSegmentSeconds) is uploaded and verified',
  uploadFailed: 'an upload failed',
};
const EVENTS = /** @type {Array<[WebhookEvent, string]>} */ (Object.entries(EVENT_WORDS));

/**
 * @param {HTMLElement} container
 * @param {import('../../../types.js').AppTabContext} ctx
 */
export async function renderWebhooks(container, { name, view, onSaved }) {
  let saved = view.settings.webhooks;
  const items = h('div', { id: 'webhook-list' });
  const problems = errorBox();
  const add = h('button', { type: 'button', class: 'secondary', 'data-action': 'add-webhook' }, 'Add webhook');
  const save = h('button', { type: 'submit', 'data-action': 'save' }, 'Save webhooks');
  const form = h('form', { id: 'webhooks-form', novalidate: true }, items, problems, h('div', { class: 'actions' }, save, add));
  /** @type {Editor[]} */
  const editors = [];
  const deliveries = h('section', { class: 'card', 'aria-labelledby': 'deliveries-title' });

  const redraw = () => fill(items, editors.length ? editors.map((e, i) => e.render(i)) : h('p', { class: 'empty' }, 'No webhooks. Add one to be told when streams start and end and recordings are ready or uploaded.'));
  /** @param {Editor} ed */
  const remove = (ed) => {
    editors.splice(editors.indexOf(ed), 1);
    redraw();
  };
  /** @param {PublicWebhook[]} hooks */
  const reset = (hooks) => {
    editors.splice(0, editors.length, ...hooks.map((w) => webhookEditor(w, name, remove)));
    redraw();
  };
  add.addEventListener('click', () => {
    editors.push(webhookEditor({ url: '', events: EVENTS.map((e) => e[0]), enabled: true, hasSecret: false }, name, remove, true));
    redraw();
    items.lastElementChild?.querySelector('input')?.focus();
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, problems, async () => {
      for (const e of editors) e.clearErrors();
      try {
        const v = /** @type {Application} */ (await api.patch(`/applications/${seg(name)}`, { webhooks: editors.map((e) => e.value()) }));
        saved = v.settings.webhooks;
        reset(saved);
        form.dataset.saveState = 'saved';
        toast('Webhooks saved');
        onSaved(v);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 422) throw err;
        form.dataset.saveState = 'invalid';
        const rest = err.details.filter((d) => {
          const m = /^webhooks\[(\d+)\](?:\.(\w+))?/.exec(d.path ?? '');
          return !(m && editors[Number(m[1])] && editors[Number(m[1])].showError(m[2], d.message));
        });
        fill(problems, 'Nothing was saved: see the marked fields.', rest.length ? h('ul', {}, rest.map((d) => h('li', {}, `${d.path}: ${d.message}`))) : null);
        problems.hidden = false;
      }
    });
  });
  reset(saved);
  container.append(form, deliveries);
  showDeliveries(deliveries, name);
}

/**
 * @param {PublicWebhook} w
 * @param {string} app
 * @param {(ed: Editor) => void} onRemove
 * @returns {Editor}
 */
function webhookEditor(w, app, onRemove, fresh = false) {
  const ids = { url: newId('wh'), secret: newId('wh'), enabled: newId('wh') };
  /** @type {Record<string, HTMLElement>} */
  const errors = {};
  const err = (/** @type {string} */ key) => (errors[key] = h('span', { class: 'field-error', 'data-error-for': key }));
  const url = h('input', { id: ids.url, value: w.url, placeholder: 'https://example.com/hooks/bucketcast', spellcheck: 'false', 'aria-describedby': `${ids.url}-e` });
  const secret = h('input', { id: ids.secret, type: 'password', autocomplete: 'new-password', placeholder: w.hasSecret ? 'unchanged (leave empty to keep it)' : '16–256 characters' });
  const enabled = h('input', { id: ids.enabled, type: 'checkbox', checked: w.enabled !== false });
  const boxes = EVENTS.map(([e, what]) => ({ e, input: h('input', { type: 'checkbox', value: e, checked: w.events.includes(e) }), what }));
  /** @type {Editor} */
  const ed = {
    value() {
      /** @type {WebhookInput} */
      const out = { url: url.value.trim(), events: boxes.filter((b) => b.input.checked).map((b) => b.e), enabled: enabled.checked };
      if (secret.value) out.secret = secret.value;
      return out;
    },
    clearErrors() {
      for (const e of Object.values(errors)) e.textContent = '';
    },
    showError(key, message) {
      const target = errors[key || 'url'] || errors.url;
      target.textContent = target.textContent ? `${target.textContent}; ${message}` : message;
      return true;
    },
    render(i) {
      const ping = h('button', { type: 'button', class: 'secondary small', 'data-action': 'ping', hidden: fresh }, 'Send test ping');
      const pingProblems = errorBox();
      ping.addEventListener('click', () =>
        act(ping, pingProblems, async () => {
          const d = /** @type {import('../../../types.js').WebhookDelivery} */ (await api.post(`/applications/${seg(app)}/webhooks/test`, { url: w.url }));
          toast(`Ping queued (delivery ${d.id}); see Recent deliveries`);
        }),
      );
      const remove = h('button', { type: 'button', class: 'danger small', 'data-action': 'remove-webhook', onclick: () => onRemove(ed) }, 'Remove');
      return h(
        'fieldset',
        { 'data-webhook': i },
        h('legend', {}, `Webhook ${i + 1}`),
        h('div', { class: 'fields' },
          h('div', { class: 'field wide' }, h('label', { for: ids.url }, 'URL'), url, err('url')),
          h('div', { class: 'field' }, h('label', { for: ids.secret }, 'Signing secret'), secret, h('span', { class: 'help' }, 'The receiver checks X-Bucketcast-Signature with it.'), err('secret')),
          h('div', { class: 'field check' }, enabled, h('label', { for: ids.enabled }, 'Enabled'), err('enabled')),
          h('fieldset', { class: 'field wide' }, h('legend', {}, 'Events'), boxes.map((b) => h('label', { class: 'row' }, b.input, h('code', {}, b.e), h('span', { class: 'help' }, b.what))), err('events')),
        ),
        h('div', { class: 'actions' }, ping, remove),
        pingProblems,
      );
    },
  };
  return ed;
}

/**
 * @param {HTMLElement} el
 * @param {string} app
 */
async function showDeliveries(el, app) {
  const body = h('div');
  const refresh = h('button', { type: 'button', class: 'secondary small' }, 'Refresh');
  const problems = errorBox();
  fill(el, h('div', { class: 'spread' }, h('h2', { id: 'deliveries-title' }, 'Recent deliveries'), refresh), problems, body);
  const load = async () => {
    const { deliveries } = /** @type {{ deliveries: import('../../../types.js').WebhookDelivery[] }} */ (await api.get('/webhooks/deliveries', { app, limit: 15 }));
    fill(
      body,
      deliveries.length === 0
        ? h('p', { class: 'empty' }, 'Nothing sent yet.')
        : h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, h('th', {}, 'Event'), h('th', {}, 'URL'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Last answer'), h('th', {}, 'Created'), h('th', {}, ''))),
            h('tbody', {}, deliveries.map((d) => {
              const retry = d.state === 'failed' ? h('button', { type: 'button', class: 'secondary small' }, 'Send again') : null;
              if (retry) retry.addEventListener('click', () => act(retry, problems, async () => (await api.post(`/webhooks/deliveries/${seg(d.id)}/retry`), load())));
              return h('tr', { 'data-delivery': d.id, 'data-state': d.state },
                h('td', {}, d.event), h('td', {}, h('code', {}, d.url)), h('td', {}, h('span', { class: `badge ${d.state === 'delivered' ? 'ok' : d.state === 'failed' ? 'bad' : 'warn'}` }, d.state)),
                h('td', { class: 'num' }, d.attempts), h('td', {}, d.lastError || (d.lastStatus ? `HTTP ${d.lastStatus}` : '—')), h('td', {}, timeEl(d.createdAt)), h('td', {}, retry));
            })),
          )),
    );
  };
  refresh.addEventListener('click', () => act(refresh, problems, load));
  await act(null, problems, load);
}
