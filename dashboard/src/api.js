// The public REST API with the session's bearer token; errors carry the server's one error shape.
const KEY = 'beamtrack.token';

export const session = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.details = error.details || [];
  }
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.get()}`, ...extra };
}

async function fail(r) {
  let error = null;
  try {
    error = (await r.json()).error;
  } catch {
    error = null;
  }
  if (r.status === 401) onUnauthorized();
  throw new ApiError(r.status, error || { code: `HTTP_${r.status}`, message: r.statusText, details: [] });
}

export async function api(path, { method = 'GET', body, signal, raw = false } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  if (!r.ok) await fail(r);
  return raw ? r : r.json();
}

/** Save a file the API serves (the token goes in the header, so a plain link cannot fetch it). */
export async function download(path, filename) {
  const r = await api(path, { raw: true });
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Every job of a listing up to ``want`` (the API pages at most 500 at a time). */
export async function listJobs({ state, want, signal }) {
  const items = [];
  let cursor = null;
  while (items.length < want) {
    const q = new URLSearchParams({ limit: String(Math.min(500, want - items.length)) });
    if (state) q.set('state', state);
    if (cursor) q.set('cursor', cursor);
    const page = await api(`/v1/jobs?${q}`, { signal });
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return { items, more: Boolean(cursor) };
}

/**
 * Follow a job's server-sent events with fetch (EventSource cannot send the Authorization
 * header). Calls onBatch with the events of each chunk; resumes after a dropped connection from
 * the last event id; returns after the ``result`` event.
 */
export async function followEvents(jobId, onBatch, signal) {
  let after = null;
  for (;;) {
    const q = after ? `?after=${encodeURIComponent(after)}` : '';
    const r = await fetch(`/v1/jobs/${jobId}/events${q}`, {
      headers: headers({ Accept: 'text/event-stream' }),
      signal,
    });
    if (!r.ok) await fail(r);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const batch = [];
      let end;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const ev = parseFrame(buf.slice(0, end));
        buf = buf.slice(end + 2);
        if (ev) batch.push(ev);
      }
      if (batch.length) {
        after = batch[batch.length - 1].id;
        onBatch(batch);
        if (batch.some((e) => e.kind === 'result')) {
          await reader.cancel();
          return;
        }
      }
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

function parseFrame(frame) {
  let id = null;
  let kind = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') kind = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return null;
  return { id, kind, data: JSON.parse(data.join('\n')) };
}

/** The newest scans up to ``want`` (pages of at most 500). */
export async function listScans({ want, signal }) {
  const items = [];
  let cursor = null;
  while (items.length < want) {
    const q = new URLSearchParams({ limit: String(Math.min(500, want - items.length)) });
    if (cursor) q.set('cursor', cursor);
    const page = await api(`/v1/scans?${q}`, { signal });
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return { items, more: Boolean(cursor) };
}
