// @ts-check
/**
 * One tab of an application's settings: a `SettingsForm` with a Save button
 * that sends only what changed as a JSON merge patch (`PATCH
 * /applications/<name>`). A 422 puts each problem next to its field and
 * saves nothing. State for tests: `form[data-save-state="saved|invalid|error|unchanged"]`.
 */
import { api, ApiError, seg } from '../api.js';
import { act, errorBox, fill, h, toast } from '../dom.js';
import { SettingsForm, isEmptyPatch } from '../forms.js';

/**
 * Renders the form into `container`. Options: `name` (the app), `settings`,
 * `groups`, `id` (form id), `onSaved(appView)`, `extraActions` (buttons
 * beside Save), `after` (nodes below the buttons). Returns the form.
 */
/**
 * @param {HTMLElement} container
 * @param {{ name: string, settings: import('../../../types.js').Values, groups: import('../../../types.js').FieldGroup[], id: string,
 *   onSaved?: (app: import('../../../types.js').Application) => void, extraActions?: Node[], after?: Node[] }} options
 */
export function settingsSection(container, { name, settings, groups, id, onSaved, extraActions = [], after = [] }) {
  const form = new SettingsForm(groups, settings);
  const problems = errorBox();
  const save = h('button', { type: 'submit', 'data-action': 'save' }, 'Save');
  const el = h('form', { id, novalidate: true, 'aria-describedby': `${id}-problems` }, form.element, problems, h('div', { class: 'actions' }, save, ...extraActions), ...after);
  problems.id = `${id}-problems`;
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(save, problems, async () => {
      const patch = form.patch();
      if (isEmptyPatch(patch)) {
        el.dataset.saveState = 'unchanged';
        form.clearErrors();
        toast('Nothing changed');
        return;
      }
      try {
        const view = /** @type {import('../../../types.js').Application} */ (await api.patch(`/applications/${seg(name)}`, patch));
        form.original = view.settings;
        form.setValues(view.settings);
        form.clearErrors();
        el.dataset.saveState = 'saved';
        toast('Saved: the next stream uses these settings');
        if (onSaved) onSaved(view);
      } catch (err) {
        const invalid = err instanceof ApiError && err.status === 422;
        el.dataset.saveState = invalid ? 'invalid' : 'error';
        if (invalid) {
          showFieldProblems(form, problems, err);
          return;
        }
        throw err;
      }
    });
  });
  container.append(el);
  return form;
}

/** A 422: problems next to their fields, and a summary (with those no field shows) above the buttons. */
/**
 * @param {SettingsForm} form
 * @param {HTMLElement} box
 * @param {ApiError} err
 */
export function showFieldProblems(form, box, err, what = 'Nothing was saved') {
  const unmatched = form.showErrors(err.details);
  const shown = (err.details || []).length - unmatched.length;
  const marked = shown === 0 ? '' : shown === 1 ? ' One field needs attention (marked below it).' : ` ${shown} fields need attention (marked below each).`;
  fill(box, `${what}.${marked}`, unmatched.length ? h('ul', {}, unmatched.map((d) => h('li', {}, d.path ? `${d.path}: ${d.message}` : d.message))) : null);
  box.className = 'error-box';
  box.hidden = false;
}
