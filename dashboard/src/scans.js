// Parameter scans: the scans list, a scan's page (progress, results table, a plot of any scanned
// parameter against any result column, cancel, downloads) and submitting a scan.
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { load as loadYaml } from 'js-yaml';
import fodo from '../../examples/fodo.json';
import scanExample from '../../examples/scan_fodo.yaml?raw';
import { api, ApiError, download, listScans } from './api.js';
import { ErrorBox, FieldError, PriorityDevice, fmtTime, go, POLL_MS, readFile, TERMINAL } from './common.js';
import { locate, splitLoc } from './jsonloc.js';
import { ScatterPlot } from './plots.js';

/** The columns every results table starts with; parameter paths and diagnostics follow. */
const ROW_COLUMNS = ['variant', 'job_id', 'state', 'attempts', 'cached_from'];
const TABLE_PAGE = 100;
/** Result columns the plot's y does not start on (where the beam is, not what it is). */
const AXIS_COLUMNS = new Set(['s', 'step', 'period', 'turn']);
/** JobSpec files a scan's ``base`` may name that the dashboard bundles. */
const BUNDLED = { 'fodo.json': fodo };

const finished = (c) => c.succeeded + c.failed + c.cancelled;

function Progress({ scan }) {
  const done = finished(scan.counts);
  const pct = scan.variants ? Math.round((100 * done) / scan.variants) : 0;
  return html`<span class="bar" role="progressbar" aria-valuemin="0" aria-valuemax=${scan.variants}
    aria-valuenow=${done} aria-label=${`${done} of ${scan.variants} variants ended`}><span style=${`width:${pct}%`}></span></span>
    ${' '}${done} / ${scan.variants}`;
}

function Counts({ counts, testid }) {
  return html`<span class="counts" data-testid=${testid}>${Object.entries(counts).map(([s, n]) =>
    html`<span class=${`state ${s}`} data-state=${s} data-count=${n}>${n} ${s}</span> `)}</span>`;
}

// -- the scans list -------------------------------------------------------------------------------
export function ScansPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [want, setWant] = useState(100);

  useEffect(() => {
    let stop = false;
    let timer = null;
    const ctrl = new AbortController();
    const load = async () => {
      try {
        const page = await listScans({ want, signal: ctrl.signal });
        if (!stop) {
          setData(page);
          setError(null);
        }
      } catch (err) {
        if (!stop && err.name !== 'AbortError') setError(err);
      }
      if (!stop) timer = setTimeout(load, POLL_MS);
    };
    load();
    return () => {
      stop = true;
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [want]);

  const cancel = async (scan) => {
    try {
      const updated = await api(`/v1/scans/${scan.id}`, { method: 'DELETE' });
      setData((d) => ({ ...d, items: d.items.map((s) => (s.id === updated.id ? updated : s)) }));
    } catch (err) {
      setError(err);
    }
  };

  return html`<main class="scans-list">
    <h1>Scans</h1>
    <div class="row">
      <a class="button" href="#/scans/new">Submit a scan</a>
      <label>Show
        <select id="scan-page-size" value=${want} onChange=${(e) => setWant(Number(e.currentTarget.value))}>
          ${[100, 500, 1000].map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </label>
    </div>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<p aria-live="polite">Loading…</p>`}
    ${data && html`<p class="count" aria-live="polite" data-testid="scan-count">${data.items.length} scan(s)${data.more ? ' (more on the server)' : ''}</p>`}
    <table class="scans">
      <thead><tr>
        <th scope="col">Name</th><th scope="col">ID</th><th scope="col">State</th><th scope="col">Progress</th>
        <th scope="col">Variants by state</th><th scope="col">Owner</th><th scope="col">Priority</th>
        <th scope="col">Created</th><th scope="col">Actions</th>
      </tr></thead>
      <tbody>${(data?.items || []).map((s) => html`<tr key=${s.id} data-scan=${s.id} data-state=${s.state}>
        <td><a href=${`#/scans/${s.id}`}>${s.name}</a></td>
        <td><code>${s.id.slice(0, 10)}</code></td>
        <td><span class=${`state ${s.state}`}>${s.state}</span>${s.cancel_requested && !TERMINAL.has(s.state) ? ' (cancelling)' : ''}</td>
        <td><${Progress} scan=${s} /></td>
        <td><${Counts} counts=${s.counts} /></td>
        <td>${s.owner}</td>
        <td class="num">${s.priority}</td>
        <td>${fmtTime(s.created_at)}</td>
        <td class="actions">${!TERMINAL.has(s.state) && html`<button type="button" onClick=${() => cancel(s)}
          aria-label=${`cancel scan ${s.name} ${s.id}`}>Cancel</button>`}</td>
      </tr>`)}</tbody>
    </table>
  </main>`;
}

// -- a scan's page --------------------------------------------------------------------------------
function cell(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function ResultsTable({ columns, rows }) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(rows.length / TABLE_PAGE));
  const at = Math.min(page, pages - 1);
  const shown = rows.slice(at * TABLE_PAGE, (at + 1) * TABLE_PAGE);
  return html`<div>
    ${pages > 1 && html`<div class="row">
      <button type="button" disabled=${at === 0} onClick=${() => setPage(at - 1)}>Previous rows</button>
      <span aria-live="polite">rows ${at * TABLE_PAGE + 1}–${at * TABLE_PAGE + shown.length} of ${rows.length}</span>
      <button type="button" disabled=${at >= pages - 1} onClick=${() => setPage(at + 1)}>Next rows</button>
    </div>`}
    <div class="table-scroll" tabindex="0" role="region" aria-label="results table">
      <table class="results" data-testid="results-table">
        <thead><tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
        <tbody>${shown.map((r) => html`<tr key=${r.job_id} data-variant=${r.variant} data-state=${r.state}>
          ${columns.map((c) => {
            if (c === 'job_id') return html`<td><a href=${`#/jobs/${r.job_id}`} aria-label=${`job of variant ${r.variant}`}>${r.job_id.slice(0, 10)}</a></td>`;
            if (c === 'cached_from' && r.cached_from) return html`<td><a href=${`#/jobs/${r.cached_from}`} aria-label=${`job variant ${r.variant} was served from`}>${r.cached_from.slice(0, 10)}</a></td>`;
            if (c === 'state') return html`<td><span class=${`state ${r.state}`}>${r.state}</span></td>`;
            return html`<td class=${typeof r[c] === 'number' ? 'num' : ''}>${cell(r[c])}</td>`;
          })}
        </tr>`)}</tbody>
      </table>
    </div>
  </div>`;
}

function ResultsPlot({ scan, results }) {
  const params = scan.parameters;
  const numeric = (c) => results.rows.some((r) => typeof r[c] === 'number' && Number.isFinite(r[c]));
  const xs = params.filter(numeric);
  const ys = results.columns.filter((c) => !ROW_COLUMNS.includes(c) && numeric(c));
  const [pick, setPick] = useState({});
  const x = xs.includes(pick.x) ? pick.x : xs[0];
  const yDefault = ys.find((c) => c === 'sigma_x') || ys.find((c) => !params.includes(c) && !AXIS_COLUMNS.has(c)) || ys.find((c) => c !== x);
  const y = ys.includes(pick.y) ? pick.y : yDefault;
  const by = params.includes(pick.by) && pick.by !== x ? pick.by : '';
  const lines = Boolean(pick.lines);
  if (!xs.length) return html`<p>No scanned parameter has numeric values to plot.</p>`;
  if (!y) return html`<p>No result column to plot yet: the table fills as variants succeed.</p>`;
  const set = (k) => (e) => setPick({ ...pick, x, y, [k]: e.currentTarget.value });
  return html`<div>
    <div class="filters">
      <label>x (parameter)
        <select id="plot-x" value=${x} onChange=${set('x')}>${xs.map((c) => html`<option value=${c}>${c}</option>`)}</select>
      </label>
      <label>y (result column)
        <select id="plot-y" value=${y} onChange=${set('y')}>${ys.map((c) => html`<option value=${c}>${c}</option>`)}</select>
      </label>
      <label>One series per
        <select id="plot-by" value=${by} onChange=${set('by')}>
          <option value="">(all points one series)</option>
          ${params.filter((p) => p !== x).map((p) => html`<option value=${p}>${p}</option>`)}
        </select>
      </label>
      <label>Style
        <select id="plot-style" value=${lines ? 'lines' : 'points'} onChange=${(e) => setPick({ ...pick, x, y, lines: e.currentTarget.value === 'lines' })}>
          <option value="points">points</option><option value="lines">lines through points</option>
        </select>
      </label>
    </div>
    <${ScatterPlot} title=${`${y} vs ${x}`} rows=${results.rows} x=${x} y=${y} by=${by} lines=${lines} testid="scan-plot" />
  </div>`;
}

export function ScanPage({ scanId }) {
  const [scan, setScan] = useState(null);
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);
  const terminal = scan && TERMINAL.has(scan.state);

  // the scan polled; its table read again when a variant changed state, at most every
  // variants × 2 ms (a 10,000-variant table every 20 s) and once more when the scan has ended
  useEffect(() => {
    let stop = false;
    let timer = null;
    let shown = { key: null, at: -Infinity };
    const ctrl = new AbortController();
    const load = async () => {
      try {
        const s = await api(`/v1/scans/${scanId}`, { signal: ctrl.signal });
        if (stop) return;
        setScan(s);
        const end = TERMINAL.has(s.state);
        const key = `${s.state}:${JSON.stringify(s.counts)}`;
        const gap = Math.min(30_000, Math.max(POLL_MS, s.variants * 2));
        if (key !== shown.key && (end || performance.now() - shown.at >= gap)) {
          const at = performance.now();
          const r = await api(`/v1/scans/${scanId}/results?format=json`, { signal: ctrl.signal });
          if (stop) return;
          shown = { key, at };
          setResults(r);
        }
        if (end) return;
      } catch (err) {
        if (stop || err.name === 'AbortError') return;
        setError(err);
        if (err instanceof ApiError && err.status === 404) return;
      }
      timer = setTimeout(load, POLL_MS);
    };
    load();
    return () => {
      stop = true;
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [scanId]);

  const cancel = async () => {
    try {
      setScan(await api(`/v1/scans/${scanId}`, { method: 'DELETE' }));
    } catch (err) {
      setError(err);
    }
  };

  if (!scan) return html`<main><${ErrorBox} error=${error} />${!error && html`<p>Loading…</p>`}</main>`;
  const done = finished(scan.counts);
  return html`<main class="scan">
    <p><a href="#/scans">← all scans</a></p>
    <h1>${scan.name} <small>scan ${scan.id}</small></h1>
    <dl class="facts">
      <dt>State</dt><dd><span class=${`state ${scan.state}`} data-testid="scan-state">${scan.state}</span>${scan.cancel_requested && !terminal ? ' (cancel requested)' : ''}</dd>
      <dt>Progress</dt><dd><progress max=${scan.variants} value=${done} aria-label=${`${done} of ${scan.variants} variants ended`}
        data-testid="scan-progress"></progress> ${done} / ${scan.variants} variants ended</dd>
      <dt>Variants</dt><dd><${Counts} counts=${scan.counts} testid="scan-counts" /></dd>
      <dt>Parameters</dt><dd>${scan.parameters.map((p) => html`<code>${p}</code> `)}</dd>
      <dt>Owner</dt><dd>${scan.owner}</dd>
      <dt>Priority</dt><dd>${scan.priority}</dd>
      <dt>Device</dt><dd>${scan.device}</dd>
      <dt>Created</dt><dd>${fmtTime(scan.created_at)}</dd>
    </dl>
    <div class="actions">
      ${!terminal && html`<button type="button" id="cancel-scan" onClick=${cancel}>Cancel scan</button>`}
      <button type="button" onClick=${() => download(`/v1/scans/${scanId}/results?format=csv`, `${scan.name}-${scanId.slice(0, 8)}.csv`).catch(setError)}>Results (CSV)</button>
      <button type="button" onClick=${() => download(`/v1/scans/${scanId}/results?format=parquet`, `${scan.name}-${scanId.slice(0, 8)}.parquet`).catch(setError)}>Results (Parquet)</button>
    </div>
    <${ErrorBox} error=${error} />
    <section aria-labelledby="plot-h"><h2 id="plot-h">Plot</h2>
      ${results ? html`<${ResultsPlot} scan=${scan} results=${results} />` : html`<p>Loading…</p>`}
    </section>
    <section aria-labelledby="table-h"><h2 id="table-h">Results <small data-testid="results-count">${results ? results.rows.length : 0} variants</small></h2>
      ${results ? html`<${ResultsTable} columns=${results.columns} rows=${results.rows} />` : html`<p>Loading…</p>`}
    </section>
  </main>`;
}

// -- submit a scan --------------------------------------------------------------------------------
function parseScanText(text) {
  const t = text.trim();
  if (!t) throw new Error('paste or upload a ScanSpec');
  const doc = t.startsWith('{') ? JSON.parse(t) : loadYaml(t);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('a ScanSpec is a JSON/YAML object');
  return doc;
}

/** How many variants a scan expands to, where the dashboard can tell (null where it cannot). */
function variantCount(scan) {
  const lists = Object.values(scan.parameters || {}).filter(Array.isArray);
  const mode = scan.mode || 'grid';
  if (mode === 'list') return Array.isArray(scan.variants) ? scan.variants.length : null;
  if (mode === 'random' || mode === 'lhs') return Number.isInteger(scan.samples) ? scan.samples : null;
  if (!lists.length) return null;
  if (mode === 'zip') return lists[0].length;
  return lists.reduce((n, l) => n * l.length, 1);
}

/**
 * Where an error's ``loc`` (``scan.base.beam.npart``, ``scan.parameters.<path>``,
 * ``scan.variants[7].<path>``) sits in the scan's JSON text: the path for locate(), or null.
 * A variant's bad value is found in the parameter's value list (grid, zip) or in the variant.
 */
function scanPath(loc, doc) {
  if (!doc || !loc.startsWith('scan.')) return null;
  const rest = loc.slice(5);
  const params = doc.parameters && typeof doc.parameters === 'object' ? doc.parameters : {};
  const keys = Object.keys(params);
  if (rest.startsWith('parameters.')) {
    const tail = rest.slice(11);
    const key = keys.filter((k) => tail === k || tail.startsWith(`${k}.`)).sort((a, b) => b.length - a.length)[0];
    return key ? ['parameters', key, ...splitLoc(tail.slice(key.length))] : ['parameters'];
  }
  const m = /^variants\[(\d+)\]\.(.+)$/.exec(rest);
  if (m) {
    const i = Number(m[1]);
    const sub = m[2];
    const mode = doc.mode || 'grid';
    if (mode === 'list') return Array.isArray(doc.variants) && doc.variants[i] && sub in doc.variants[i] ? ['variants', i, sub] : ['variants', i];
    const k = keys.indexOf(sub);
    if (k < 0 || !Array.isArray(params[sub])) return null;
    if (mode === 'zip') return ['parameters', sub, i];
    if (mode !== 'grid') return ['parameters', sub];
    const lens = keys.map((p) => (Array.isArray(params[p]) ? params[p].length : 1));
    const inner = lens.slice(k + 1).reduce((a, b) => a * b, 1);
    return ['parameters', sub, Math.floor(i / inner) % lens[k]];
  }
  if (rest.startsWith('base.') && typeof doc.base !== 'object') return null;
  return splitLoc(rest);
}

export function ScanSubmitPage() {
  const [text, setText] = useState('');
  const [bases, setBases] = useState({});
  const [priority, setPriority] = useState(0);
  const [device, setDevice] = useState('auto');
  const [hook, setHook] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const editor = useRef(null);

  // the text as a scan, its base resolved: {doc, scan} or {parse: message} or {missing: name}
  const parsed = useMemo(() => {
    if (!text.trim()) return null;
    let doc;
    try {
      doc = parseScanText(text);
    } catch (err) {
      return { parse: err.message };
    }
    const wrapped = doc.scan && typeof doc.scan === 'object' && !doc.parameters;
    const scan = { ...(wrapped ? doc.scan : doc) };
    if (typeof scan.base === 'string') {
      const name = scan.base.split('/').pop();
      const base = bases[name] || BUNDLED[name];
      if (!base) return { doc: wrapped ? doc.scan : doc, wrapped, missing: scan.base };
      scan.base = base;
    }
    return { doc: wrapped ? doc.scan : doc, wrapped, scan, bundled: typeof (wrapped ? doc.scan : doc).base === 'string' };
  }, [text, bases]);

  useEffect(() => setError(null), [text, bases, priority, device, hook]);

  const details = error?.details || [];
  const at = (prefix) => details.filter((d) => d.loc === prefix || d.loc.startsWith(`${prefix}.`));
  const scanErrors = details.filter((d) => d.loc === 'scan' || d.loc.startsWith('scan.') || d.loc === 'body');
  const isJson = text.trim().startsWith('{');
  const where = (d) => {
    if (!isJson || !parsed?.doc) return null;
    const path = scanPath(d.loc, parsed.doc);
    return path ? locate(text, parsed.wrapped ? ['scan', ...path] : path) : null;
  };
  const showField = (d) => {
    const span = where(d);
    if (!span || !editor.current) return;
    editor.current.focus();
    editor.current.setSelectionRange(span.start, span.end);
  };

  const submit = async (e) => {
    e.preventDefault();
    if (!parsed?.scan) return;
    setBusy(true);
    try {
      const body = { scan: parsed.scan, priority: Number(priority), device, hook_module: hook.trim() ? hook : null };
      const scan = await api('/v1/scans', { method: 'POST', body });
      go(`/scans/${scan.id}`);
    } catch (err) {
      setError(err instanceof ApiError ? err : { message: String(err) });
    } finally {
      setBusy(false);
    }
  };
  const n = parsed?.scan ? variantCount(parsed.scan) : null;
  const specInvalid = Boolean(parsed?.parse || parsed?.missing) || scanErrors.length > 0;
  const generic = error && !details.length;

  return html`<main>
    <h1>Submit a scan</h1>
    <form class="submit" onSubmit=${submit} novalidate>
      <div class="row">
        <button type="button" id="load-scan-example" onClick=${() => setText(scanExample)}>Start from the FODO scan example</button>
        <label>Upload a scan (JSON or YAML) <input type="file" id="scan-file" accept=".json,.yaml,.yml,application/json" onChange=${readFile(setText)} /></label>
      </div>
      <label for="scan-spec">ScanSpec (JSON or YAML): a base JobSpec (or the name of its file), mode, parameters by path</label>
      <textarea id="scan-spec" ref=${editor} rows="16" spellcheck="false" value=${text}
        aria-invalid=${specInvalid ? 'true' : 'false'} aria-describedby="scan-errors"
        onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      <div id="scan-errors" aria-live="polite">
        ${parsed?.parse && html`<p class="field-error" role="alert">${parsed.parse}</p>`}
        ${parsed?.missing && html`<div class="field-error" role="alert" data-loc="scan.base">
          <p><code>base</code> names the file <code>${parsed.missing}</code>, which this browser cannot read: upload it, or paste the JobSpec under <code>base</code>.</p>
          <label>Upload ${parsed.missing} <input type="file" id="base-file" accept=".json,.yaml,.yml,application/json"
            onChange=${readFile((t, name) => {
              try {
                const b = parseScanText(t);
                setBases((old) => ({ ...old, [parsed.missing.split('/').pop()]: b, [name]: b }));
              } catch (err) {
                setError({ code: 'BAD_FILE', message: `${name}: ${err.message}` });
              }
            })} /></label>
        </div>`}
        ${scanErrors.length > 0 && html`<ul class="field-errors" data-testid="scan-field-errors">
          ${scanErrors.map((d) => {
            const span = where(d);
            return html`<li class="field-error" data-loc=${d.loc}><code>${d.loc}</code>${span ? ` (line ${span.line})` : ''}: ${d.msg}
              ${span && html` <button type="button" class="link" onClick=${() => showField(d)}>show field</button>`}</li>`;
          })}
        </ul>`}
        ${parsed?.scan && !scanErrors.length && html`<p class="ok" data-testid="scan-summary">${`${parsed.scan.mode || 'grid'} scan of `}${Object.keys(parsed.scan.parameters || {}).length} parameter(s)${n !== null ? `, ${n} variant(s)` : ''}${parsed.bundled ? `; base: the bundled ${parsed.doc.base}` : ''}</p>`}
      </div>
      <${PriorityDevice} prefix="scan-" priority=${priority} setPriority=${setPriority} device=${device}
        setDevice=${setDevice} at=${at} />
      <details>
        <summary>Hook module (optional, run with every variant)</summary>
        <label for="scan-hook">Python source defining before_period, after_period, before_element, after_element or before_slice</label>
        <textarea id="scan-hook" rows="8" spellcheck="false" value=${hook} aria-invalid=${at('hook_module').length ? 'true' : 'false'}
          aria-describedby="scan-hook-error" onInput=${(e) => setHook(e.currentTarget.value)}></textarea>
        <label>Upload a hook module <input type="file" id="scan-hook-file" accept=".py,text/x-python" onChange=${readFile(setHook)} /></label>
        <${FieldError} id="scan-hook-error" errors=${at('hook_module')} />
      </details>
      ${generic && html`<${ErrorBox} error=${error} />`}
      ${details.length > 0 && html`<p class="field-error" role="alert" data-testid="scan-refused">The server refused the scan: ${details.length} error(s), listed under the ScanSpec${at('priority').length + at('device').length + at('hook_module').length ? ' and beside the fields' : ''}.</p>`}
      <button type="submit" id="submit-scan" disabled=${busy || !parsed?.scan}>Submit scan</button>
    </form>
  </main>`;
}
