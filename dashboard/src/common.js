// Pieces every page shares: routing, times, the error box and a field's error list.
import { html } from 'htm/preact';

export const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
export const POLL_MS = 2000;

export function go(path) {
  location.hash = `#${path}`;
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });
export const fmtTime = (t) => (t ? DATE.format(new Date(t * 1000)) : '—');

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert"><strong>${error.code || 'ERROR'}</strong>: ${error.message}</div>`;
}

export function FieldError({ id, errors }) {
  if (!errors?.length) return null;
  return html`<p class="field-error" id=${id} role="alert">${errors.map((e) => html`<span>${e.msg}</span>`)}</p>`;
}

/** Read the chosen file of a file input into ``setter``; the input is cleared so the same file,
 * edited, can be chosen again. */
export const readFile = (setter) => async (e) => {
  const input = e.currentTarget;
  const f = input.files[0];
  if (f) setter(await f.text(), f.name);
  input.value = '';
};

// The priority and device fields of a submit form (jobs and scans), each with its field error;
// ``prefix`` keeps the element ids of each form distinct, ``at(field)`` gives a field's errors.
export function PriorityDevice({ prefix, priority, setPriority, device, setDevice, at }) {
  const pid = `${prefix}priority`;
  const did = `${prefix}device`;
  return html`<div class="row">
    <label for=${pid}>Priority</label>
    <input id=${pid} type="number" min="-1000" max="1000" step="1" value=${priority}
      aria-invalid=${at('priority').length ? 'true' : 'false'} aria-describedby=${`${pid}-error`}
      onInput=${(e) => setPriority(e.currentTarget.value)} />
    <${FieldError} id=${`${pid}-error`} errors=${at('priority')} />
    <label for=${did}>Device</label>
    <select id=${did} value=${device} onChange=${(e) => setDevice(e.currentTarget.value)}
      aria-invalid=${at('device').length ? 'true' : 'false'} aria-describedby=${`${did}-error`}>
      ${['auto', 'serial', 'openmp', 'cuda'].map((d) => html`<option value=${d}>${d}</option>`)}
    </select>
    <${FieldError} id=${`${did}-error`} errors=${at('device')} />
  </div>`;
}
