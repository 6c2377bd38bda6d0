// @ts-check
/**
 * Settings forms bound to an application's settings by dotted paths
 * (`s3.credentials.credentialId`). A form is declared as groups of fields;
 * it renders labelled controls, reads them back, and turns what changed into
 * a JSON merge patch (an emptied optional field becomes `null`, which resets
 * the key to its default on the server). Field problems from a 422 answer
 * (`details: [{path, message}]`) are shown next to the matching field.
 *
 * Field definition: `{path, label, type: text|number|checkbox|select|list|password,
 * help, optional, options: [{value, label}], min, max, step, placeholder,
 * showIf(values) → bool, wide, extra: () => Node}`. A hidden field that is
 * optional reads as `null` (so e.g. a KMS key id goes away with SSE-KMS).
 */
import { fill, h, newId } from './dom.js';

/** @typedef {import('../../types.js').Values} Values */
/** @typedef {import('../../types.js').FieldDef} FieldDef */
/** @typedef {import('../../types.js').FieldGroup} FieldGroup */
/** @typedef {import('../../types.js').FieldProblem} FieldProblem */
/** @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control */
/** @typedef {{ def: FieldDef, input: Control, row: HTMLElement, error: HTMLElement }} Bound */

/**
 * The value at a dotted path (`a.b.c`), or undefined.
 * @param {Values | null | undefined} obj
 * @param {string} path
 * @returns {any}
 */
export function getPath(obj, path) {
  return path.split('.').reduce((/** @type {any} */ o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

/**
 * Sets the value at a dotted path, creating objects on the way.
 * @param {Values} obj
 * @param {string} path
 * @param {unknown} value
 */
export function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
  return obj;
}

/**
 * `true` when the (merge) patch changes nothing.
 * @param {Values | null | undefined} p
 */
export function isEmptyPatch(p) {
  return !p || Object.keys(p).length === 0;
}

export class SettingsForm {
  /**
   * `groups`: `[{legend, intro, fields: [def…]}]`; `original`: the settings the form starts from.
   * @param {FieldGroup[]} groups
   * @param {Values} original
   */
  constructor(groups, original) {
    this.groups = groups;
    this.original = original;
    /** @type {Map<string, Bound>} */
    this.controls = new Map();
    this.element = h('div', { class: 'settings-form' }, groups.map((g) => this.group(g)));
    this.element.addEventListener('input', () => this.updateVisibility());
    this.element.addEventListener('change', () => this.updateVisibility());
    this.setValues(original);
  }

  /** @param {FieldGroup} g */
  group(g) {
    return h('fieldset', {}, h('legend', {}, g.legend), g.intro ? h('p', { class: 'help' }, g.intro) : null, h('div', { class: 'fields' }, g.fields.map((d) => this.row(d))));
  }

  /** @param {FieldDef} def */
  row(def) {
    const id = newId('field');
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    const described = [def.help ? helpId : null, errorId].filter(Boolean).join(' ');
    const common = { id, name: def.path, 'aria-describedby': described, 'data-path': def.path };
    /** @type {Control} */
    let input;
    if (def.type === 'checkbox') input = h('input', { ...common, type: 'checkbox' });
    else if (def.type === 'select') input = h('select', common);
    else if (def.type === 'list') input = h('textarea', { ...common, rows: 3, placeholder: def.placeholder, spellcheck: 'false' });
    else if (def.type === 'number') input = h('input', { ...common, type: 'number', inputmode: 'decimal', min: def.min, max: def.max, step: def.step ?? 'any', placeholder: def.placeholder });
    else input = h('input', { ...common, type: def.type === 'password' ? 'password' : 'text', placeholder: def.placeholder, autocomplete: 'off', spellcheck: 'false', list: def.suggestions ? `${id}-list` : undefined });
    const label = h('label', { for: id }, def.label);
    const help = def.help ? h('span', { id: helpId, class: 'help' }, def.help) : null;
    const error = h('span', { id: errorId, class: 'field-error', 'data-error-for': def.path });
    const datalist = def.suggestions ? h('datalist', { id: `${id}-list` }, def.suggestions.map((s) => h('option', { value: s }))) : null;
    const parts = def.type === 'checkbox' ? [input, label, help, error] : [label, input, def.extra ? def.extra() : null, datalist, help, error];
    const row = h('div', { class: `field${def.type === 'checkbox' ? ' check' : ''}${def.wide ? ' wide' : ''}`, 'data-field': def.path }, parts);
    this.controls.set(def.path, { def, input, row, error });
    if (def.type === 'select') this.setOptions(def.path, def.options || []);
    return row;
  }

  /**
   * Replaces a select's options (e.g. stored credentials), keeping the current choice when it is still there.
   * @param {string} path
   * @param {Array<{ value: string, label: string }>} options
   */
  setOptions(path, options) {
    const c = this.controls.get(path);
    if (!c) return;
    const current = c.input.value;
    fill(c.input, options.map((o) => h('option', { value: o.value }, o.label)));
    if (options.some((o) => o.value === current)) c.input.value = current;
  }

  /**
   * Puts settings into the controls.
   * @param {Values} settings
   */
  setValues(settings) {
    for (const { def, input } of this.controls.values()) {
      const v = getPath(settings, def.path);
      if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = Boolean(v);
      else if (def.type === 'list') input.value = Array.isArray(v) ? v.join('\n') : '';
      else if (input instanceof HTMLSelectElement && v !== undefined && ![...input.options].some((o) => o.value === String(v))) {
        // A value the options do not list (e.g. a credential deleted since): show it rather than hide it.
        input.append(h('option', { value: String(v) }, `${v} (not available)`));
        input.value = String(v);
      } else input.value = v === undefined || v === null ? '' : String(v);
    }
    this.updateVisibility();
  }

  /**
   * A control's value as settings want it.
   * @param {FieldDef} def
   * @returns {unknown}
   */
  read(def) {
    const bound = this.controls.get(def.path);
    if (!bound) return undefined;
    const { input } = bound;
    if (input instanceof HTMLInputElement && input.type === 'checkbox') return input.checked;
    if (def.type === 'list') return input.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    const raw = input.value.trim();
    // Text a number field cannot parse is sent as typed, so the server's message names the field.
    if (def.type === 'number') return input.validity && input.validity.badInput ? 'not a number' : raw === '' ? null : Number(raw);
    if (raw === '' && def.optional) return null;
    return def.type === 'password' ? input.value : raw;
  }

  /** Every field's current value, as nested settings. */
  values() {
    /** @type {Values} */
    const out = {};
    for (const { def } of this.controls.values()) setPath(out, def.path, this.read(def));
    return out;
  }

  updateVisibility() {
    const values = this.values();
    for (const { def, row } of this.controls.values()) if (def.showIf) row.hidden = !def.showIf(values);
  }

  /** The merge patch from the original settings to the form's values (`{}` when nothing changed). */
  patch() {
    /** @type {Values} */
    const out = {};
    for (const { def, row } of this.controls.values()) {
      let v = this.read(def);
      if (row.hidden) {
        if (!def.optional) continue;
        v = null;
      }
      const before = getPath(this.original, def.path);
      if (v === null && (before === undefined || before === null)) continue;
      if (JSON.stringify(v) === JSON.stringify(before)) continue;
      setPath(out, def.path, v);
    }
    return out;
  }

  clearErrors() {
    for (const { input, error } of this.controls.values()) {
      error.textContent = '';
      input.removeAttribute('aria-invalid');
    }
  }

  /**
   * Shows field problems next to their fields; returns those no field matches. Focuses the first one.
   * @param {FieldProblem[] | undefined} details
   */
  showErrors(details) {
    this.clearErrors();
    /** @type {FieldProblem[]} */
    const unmatched = [];
    /** @type {Control | null} */
    let first = null;
    for (const d of details || []) {
      const c = this.controlFor(d.path);
      if (!c) {
        unmatched.push(d);
        continue;
      }
      c.error.textContent = c.error.textContent ? `${c.error.textContent}; ${d.message}` : d.message;
      c.input.setAttribute('aria-invalid', 'true');
      c.row.hidden = false;
      first = first || c.input;
    }
    if (first) first.focus();
    return unmatched;
  }

  /**
   * The control a problem path belongs to: itself, without array indexes, or its nearest parent.
   * @param {string | undefined} path
   */
  controlFor(path) {
    if (!path) return undefined;
    const candidates = [path, path.replace(/\[\d+\]/g, '')];
    let p = candidates[1];
    while (p.includes('.')) {
      p = p.slice(0, p.lastIndexOf('.'));
      candidates.push(p);
    }
    for (const c of candidates) if (this.controls.has(c)) return this.controls.get(c);
    return undefined;
  }
}
