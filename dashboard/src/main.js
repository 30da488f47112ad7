// The beamtrack dashboard: login, the jobs table, a job's live page, submit, scans (scans.js). It uses only the
// public REST/SSE API, with the token kept in sessionStorage.
import { html, render } from 'htm/preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { load as loadYaml } from 'js-yaml';
import fodo from '../../examples/fodo.json';
import { api, ApiError, download, followEvents, listJobs, session, whenUnauthorized } from './api.js';
import { ErrorBox, FieldError, PriorityDevice, fmtTime, go, POLL_MS, readFile, STATES, TERMINAL } from './common.js';
import { locate, splitLoc } from './jsonloc.js';
import { Heatmap, Lattice, LinePlot } from './plots.js';
import { ScanPage, ScansPage, ScanSubmitPage } from './scans.js';
import './style.css';

const MASS_MEV = { electron: 0.51099895, positron: 0.51099895, proton: 938.27208816, Hminus: 939.294308 };

function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/jobs');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/jobs');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.slice(1).split('/').filter(Boolean);
}

function wall(job) {
  if (!job.started_at) return '—';
  const end = job.finished_at || Date.now() / 1000;
  return `${(end - job.started_at).toFixed(1)} s`;
}

// -- login ----------------------------------------------------------------------------------------
function Login({ onLogin }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    session.set(token.trim());
    try {
      await api('/v1/jobs?limit=1');
      onLogin();
    } catch (err) {
      session.clear();
      setError(err instanceof ApiError ? err : { message: String(err) });
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <h1>beamtrack</h1>
    <form onSubmit=${submit} aria-labelledby="login-title">
      <h2 id="login-title">Sign in with an API token</h2>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required
        value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
      <p class="hint">Kept in this browser tab's session storage only.</p>
      <button type="submit" disabled=${busy || !token.trim()}>Sign in</button>
      <${ErrorBox} error=${error} />
    </form>
  </main>`;
}

// -- jobs table -----------------------------------------------------------------------------------
async function resubmit(jobId) {
  const body = await api(`/v1/jobs/${jobId}/spec`);
  const job = await api('/v1/jobs', { method: 'POST', body });
  go(`/jobs/${job.id}`);
}

function JobRow({ job, onAction }) {
  const pct = Math.round(job.progress.fraction * 100);
  return html`<tr data-job=${job.id} data-state=${job.state}>
    <td><a href=${`#/jobs/${job.id}`}>${job.id.slice(0, 10)}</a></td>
    <td>${job.name}</td>
    <td><span class=${`state ${job.state}`}>${job.state}</span></td>
    <td><span class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${pct}
      aria-label="progress"><span style=${`width:${pct}%`}></span></span> ${pct}%</td>
    <td>${job.owner}</td>
    <td class="num">${job.priority}</td>
    <td>${job.device}</td>
    <td class="num">${job.attempts}</td>
    <td>${fmtTime(job.started_at)}</td>
    <td class="num">${wall(job)}</td>
    <td class="actions">
      ${!TERMINAL.has(job.state) && html`<button type="button" onClick=${() => onAction('cancel', job)} aria-label=${`cancel job ${job.id}`}>Cancel</button>`}
      <button type="button" onClick=${() => onAction('resubmit', job)} aria-label=${`resubmit job ${job.id}`}>Resubmit</button>
    </td>
  </tr>`;
}

function JobsPage() {
  const [state, setState] = useState('');
  const [owner, setOwner] = useState('');
  const [name, setName] = useState('');
  const [pageSize, setPageSize] = useState(100);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const renderedFor = useRef(null);

  useEffect(() => {
    let stop = false;
    let timer = null;
    const ctrl = new AbortController();
    const load = async () => {
      try {
        const page = await listJobs({ state, want: pageSize, signal: ctrl.signal });
        if (!stop) {
          setData({ ...page, fetchedAt: performance.now() });
          setError(null);
        }
      } catch (err) {
        if (!stop && err.name !== 'AbortError') setError(err);
      }
      // big pages are polled less often: each poll renders every row again
      if (!stop) timer = setTimeout(load, Math.max(POLL_MS, pageSize * 5));
    };
    load();
    return () => {
      stop = true;
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [state, pageSize]);

  const shown = useMemo(() => {
    if (!data) return [];
    const o = owner.trim().toLowerCase();
    const n = name.trim().toLowerCase();
    return data.items.filter((j) => (!o || j.owner.toLowerCase().includes(o)) && (!n || j.name.toLowerCase().includes(n)));
  }, [data, owner, name]);

  useEffect(() => {
    if (!data || renderedFor.current === data) return;
    renderedFor.current = data;
    // from the fetched page to this effect, which runs after the rows were painted; one entry
    // kept, as a table left open polls for hours
    performance.clearMeasures('jobs-render');
    performance.measure('jobs-render', { start: data.fetchedAt, end: performance.now(), detail: { rows: shown.length } });
  }, [data, shown]);

  const onAction = async (what, job) => {
    try {
      if (what === 'cancel') {
        const updated = await api(`/v1/jobs/${job.id}`, { method: 'DELETE' });
        setData((d) => ({ ...d, items: d.items.map((j) => (j.id === updated.id ? updated : j)) }));
      } else {
        await resubmit(job.id);
      }
    } catch (err) {
      setError(err);
    }
  };

  return html`<main>
    <h1>Jobs</h1>
    <form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label>State
        <select id="filter-state" value=${state} onChange=${(e) => setState(e.currentTarget.value)}>
          <option value="">all</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <label>Owner <input id="filter-owner" value=${owner} onInput=${(e) => setOwner(e.currentTarget.value)} /></label>
      <label>Name <input id="filter-name" value=${name} onInput=${(e) => setName(e.currentTarget.value)} /></label>
      <label>Show
        <select id="page-size" value=${pageSize} onChange=${(e) => setPageSize(Number(e.currentTarget.value))}>
          ${[50, 100, 500, 1000].map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </label>
    </form>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<p aria-live="polite">Loading…</p>`}
    ${data && html`<p class="count" aria-live="polite" data-testid="job-count">${shown.length} job(s)${data.more ? ' (more on the server)' : ''}</p>`}
    <table class="jobs">
      <thead><tr>
        <th scope="col">ID</th><th scope="col">Name</th><th scope="col">State</th><th scope="col">Progress</th>
        <th scope="col">Owner</th><th scope="col">Priority</th><th scope="col">Device</th><th scope="col">Attempts</th>
        <th scope="col">Started</th><th scope="col">Wall time</th><th scope="col">Actions</th>
      </tr></thead>
      <tbody>${shown.map((j) => html`<${JobRow} key=${j.id} job=${j} onAction=${onAction} />`)}</tbody>
    </table>
  </main>`;
}

// -- job page -------------------------------------------------------------------------------------
const PLOTS = [
  { title: 'Transverse beam size', yLabel: '[m]', columns: [{ key: 'sigma_x' }, { key: 'sigma_y' }], testid: 'plot-sigma' },
  { title: 'Bunch length', yLabel: '[m]', columns: [{ key: 'sigma_t' }], testid: 'plot-sigma-t' },
  { title: 'Transverse emittance', yLabel: '[m]', columns: [{ key: 'emittance_x' }, { key: 'emittance_y' }], testid: 'plot-emittance' },
  { title: 'Longitudinal emittance', yLabel: '[m]', columns: [{ key: 'emittance_t' }], testid: 'plot-emittance-t' },
  { title: 'Twiss beta', yLabel: '[m]', columns: [{ key: 'beta_x' }, { key: 'beta_y' }], testid: 'plot-beta' },
  { title: 'Twiss alpha', yLabel: '[1]', columns: [{ key: 'alpha_x' }, { key: 'alpha_y' }], testid: 'plot-alpha' },
  { title: 'Dispersion', yLabel: '[m]', columns: [{ key: 'dispersion_x' }, { key: 'dispersion_y' }], testid: 'plot-dispersion' },
];

function refEnergy(text, spec) {
  const ref = spec?.reference || {};
  const mass = ref.species ? MASS_MEV[ref.species] : ref.mass_MeV;
  const lines = text.trim().split('\n');
  const cols = lines[0].trim().split(/\s+/);
  const is = cols.indexOf('s');
  const ig = cols.indexOf('gamma');
  if (is < 0 || ig < 0 || !mass) return [];
  return lines.slice(1).map((l) => {
    const v = l.trim().split(/\s+/).map(Number);
    return { s: v[is], E_kin_MeV: (v[ig] - 1) * mass };
  });
}

function PhaseSpace({ jobId }) {
  const [monitors, setMonitors] = useState(null);
  const [pick, setPick] = useState(null);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api(`/v1/jobs/${jobId}/monitors`).then((m) => {
      setMonitors(m);
      const first = m.find((s) => s.iterations.length);
      if (first) setPick({ monitor: first.name, iteration: first.iterations[0].iteration });
    }, setError);
  }, [jobId]);
  useEffect(() => {
    if (!pick) return;
    setData(null);
    api(`/v1/jobs/${jobId}/monitors/${encodeURIComponent(pick.monitor)}/${pick.iteration}/phase-space?bins=64`).then(setData, setError);
  }, [jobId, pick?.monitor, pick?.iteration]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!monitors) return html`<p>Loading monitors…</p>`;
  if (!monitors.length) return html`<p>This job wrote no BeamMonitor output.</p>`;
  const series = monitors.find((m) => m.name === pick?.monitor) || monitors[0];
  return html`<div>
    <div class="filters">
      <label>Monitor
        <select id="ps-monitor" value=${pick?.monitor} onChange=${(e) => {
          const m = monitors.find((s) => s.name === e.currentTarget.value);
          setPick({ monitor: m.name, iteration: m.iterations[0]?.iteration });
        }}>${monitors.map((m) => html`<option value=${m.name}>${m.name}</option>`)}</select>
      </label>
      <label>Pass
        <select id="ps-iteration" value=${pick?.iteration} onChange=${(e) => setPick({ ...pick, iteration: Number(e.currentTarget.value) })}>
          ${series.iterations.map((it) => html`<option value=${it.iteration}>step ${it.iteration}, s = ${it.s.toFixed(3)} m</option>`)}
        </select>
      </label>
    </div>
    ${!data && html`<p>Computing histograms…</p>`}
    ${data && html`<p>${data.particles} particles at s = ${data.s.toFixed(3)} m</p>
      <div class="heatmaps" data-testid="phase-space">${Object.entries(data.planes).map(([n, h]) => html`<${Heatmap} key=${n} name=${n} hist=${h} />`)}</div>`}
  </div>`;
}

function JobPage({ jobId }) {
  const [job, setJob] = useState(null);
  const [spec, setSpec] = useState(null);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  const [artifacts, setArtifacts] = useState([]);
  const [energy, setEnergy] = useState([]);
  const store = useRef({ rows: [], custom: {}, log: [] });
  const pending = useRef(false);
  const terminal = job && TERMINAL.has(job.state);

  useEffect(() => {
    store.current = { rows: [], custom: {}, log: [] };
    setVersion(0);
    setJob(null);
    setError(null);
    const ctrl = new AbortController();
    api(`/v1/jobs/${jobId}`, { signal: ctrl.signal }).then(setJob, setError);
    api(`/v1/jobs/${jobId}/spec`, { signal: ctrl.signal }).then((b) => setSpec(b.spec), setError);
    const bump = () => {
      if (pending.current) return;
      pending.current = true;
      requestAnimationFrame(() => {
        pending.current = false;
        setVersion((v) => v + 1);
      });
    };
    followEvents(jobId, (batch) => {
      const s = store.current;
      for (const ev of batch) {
        if (ev.kind === 'diag') s.rows.push(ev.data);
        else if (ev.kind === 'custom') (s.custom[ev.data.name] ||= []).push(ev.data);
        else if (ev.kind === 'log') s.log.push({ id: ev.id, text: ev.data.msg });
        else if (ev.kind === 'state') s.log.push({ id: ev.id, text: `state: ${ev.data.state}${ev.data.reason ? ` (${ev.data.reason})` : ''}${ev.data.attempt ? `, attempt ${ev.data.attempt}` : ''}` });
        else if (ev.kind === 'result') {
          s.log.push({ id: ev.id, text: `result: ${ev.data.state}${ev.data.error ? ` — ${ev.data.error.split('\n')[0]}` : ''}` });
          api(`/v1/jobs/${jobId}`).then(setJob, setError);
        }
      }
      bump();
    }, ctrl.signal).catch((err) => {
      if (err.name !== 'AbortError') setError(err);
    });
    return () => ctrl.abort();
  }, [jobId]);

  useEffect(() => {
    if (!job || terminal) return undefined;
    const t = setInterval(() => api(`/v1/jobs/${jobId}`).then(setJob, () => {}), POLL_MS);
    return () => clearInterval(t);
  }, [jobId, job && job.state]);

  useEffect(() => {
    if (!terminal) return;
    api(`/v1/jobs/${jobId}/artifacts`).then((a) => {
      setArtifacts(a);
      const ref = a.find((f) => /(^|\/)ref_particle[^/]*$/.test(f.name));
      if (ref && spec) {
        api(`/v1/jobs/${jobId}/artifacts/${ref.name}`, { raw: true })
          .then((r) => r.text())
          .then((t) => setEnergy(refEnergy(t, spec)), setError);
      }
    }, setError);
  }, [jobId, terminal, spec]);

  const cancel = async () => {
    try {
      setJob(await api(`/v1/jobs/${jobId}`, { method: 'DELETE' }));
    } catch (err) {
      setError(err);
    }
  };
  const s = store.current;
  const customNames = Object.keys(s.custom);
  const customRows = useMemo(() => Object.fromEntries(customNames.map((n) => [n, s.custom[n]])), [version]);

  if (!job) return html`<main><${ErrorBox} error=${error} />${!error && html`<p>Loading…</p>`}</main>`;
  const pct = Math.round(job.progress.fraction * 100);
  return html`<main class="job">
    <p><a href="#/jobs">← all jobs</a></p>
    <h1>${job.name} <small>${job.id}</small></h1>
    <dl class="facts">
      <dt>State</dt><dd><span class=${`state ${job.state}`} data-testid="job-state">${job.state}</span>${job.cancel_requested && !terminal ? ' (cancel requested)' : ''}</dd>
      <dt>Progress</dt><dd><progress max="100" value=${pct} aria-label=${`progress ${pct}%`}></progress> ${job.progress.step} / ${job.progress.total_steps}</dd>
      <dt>Owner</dt><dd>${job.owner}</dd>
      <dt>Priority</dt><dd>${job.priority}</dd>
      <dt>Device</dt><dd>${job.device}</dd>
      <dt>Attempts</dt><dd>${job.attempts}</dd>
      <dt>Started</dt><dd>${fmtTime(job.started_at)}</dd>
      <dt>Wall time</dt><dd>${wall(job)}</dd>
    </dl>
    <div class="actions">
      ${!terminal && html`<button type="button" id="cancel-job" onClick=${cancel}>Cancel job</button>`}
      <button type="button" id="resubmit-job" onClick=${() => resubmit(jobId).catch(setError)}>Resubmit</button>
    </div>
    <${ErrorBox} error=${error} />
    ${job.error && html`<section aria-labelledby="err-h"><h2 id="err-h">Error</h2><pre class="traceback" data-testid="job-error">${job.error}</pre></section>`}
    <section aria-labelledby="lat-h"><h2 id="lat-h">Lattice</h2>${spec ? html`<${Lattice} spec=${spec} />` : html`<p>Loading…</p>`}</section>
    <section aria-labelledby="diag-h">
      <h2 id="diag-h">Beam along s <small data-testid="row-count">${s.rows.length} rows</small></h2>
      <div class="plots">
        ${PLOTS.map((p) => html`<${LinePlot} key=${p.testid} ...${p} rows=${s.rows} version=${version} />`)}
        <${LinePlot} title="Reference kinetic energy" yLabel="[MeV]" columns=${[{ key: 'E_kin_MeV', label: 'E_kin' }]}
          rows=${energy} version=${energy.length} testid="plot-energy" />
      </div>
    </section>
    ${customNames.length > 0 && html`<section aria-labelledby="hook-h"><h2 id="hook-h">Hook values</h2><div class="plots">
      ${customNames.map((n) => html`<${LinePlot} key=${n} title=${n} x="step" xLabel="step" yLabel="" columns=${[{ key: 'value', label: n }]} rows=${customRows[n]} version=${version} testid=${`plot-custom-${n}`} />`)}
    </div></section>`}
    <section aria-labelledby="ps-h"><h2 id="ps-h">Phase space</h2>
      ${terminal ? html`<${PhaseSpace} jobId=${jobId} />` : html`<p>The BeamMonitor output can be read once the job has finished.</p>`}
    </section>
    <section aria-labelledby="dl-h"><h2 id="dl-h">Downloads</h2>
      <ul class="downloads">
        <li><button type="button" onClick=${() => download(`/v1/jobs/${jobId}/diagnostics?format=csv`, `${jobId}-diagnostics.csv`).catch(setError)}>Diagnostics (CSV)</button></li>
        ${artifacts.map((a) => html`<li><button type="button" onClick=${() => download(`/v1/jobs/${jobId}/artifacts/${a.name}`, a.name.split('/').pop()).catch(setError)}>${a.name}</button> <small>${a.size} bytes</small></li>`)}
      </ul>
    </section>
    <section aria-labelledby="log-h"><h2 id="log-h">Log</h2>
      <ol class="log" data-testid="job-log">${s.log.map((l) => html`<li key=${l.id}>${l.text}</li>`)}</ol>
    </section>
  </main>`;
}

// -- submit ---------------------------------------------------------------------------------------
function parseSpecText(text) {
  const t = text.trim();
  if (!t) throw new Error('paste or upload a JobSpec');
  const doc = t.startsWith('{') ? JSON.parse(t) : loadYaml(t);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('a JobSpec is a JSON/YAML object');
  return doc;
}

function SubmitPage() {
  const [text, setText] = useState('');
  const [priority, setPriority] = useState(0);
  const [device, setDevice] = useState('auto');
  const [hook, setHook] = useState('');
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  const editor = useRef(null);

  const body = useCallback(() => {
    const doc = parseSpecText(text);
    const wrapped = doc.spec && !doc.lattice;
    return { spec: wrapped ? doc.spec : doc, priority: Number(priority), device, hook_module: hook.trim() ? hook : null };
  }, [text, priority, device, hook]);

  useEffect(() => {
    if (!text.trim()) {
      setResult(null);
      return undefined;
    }
    const ctrl = new AbortController();
    const t = setTimeout(async () => {
      let b;
      try {
        b = body();
      } catch (err) {
        setResult({ parse: err.message });
        return;
      }
      try {
        const ok = await api('/v1/specs/validate', { method: 'POST', body: b, signal: ctrl.signal });
        setResult({ ok });
      } catch (err) {
        if (err.name === 'AbortError') return;
        setResult(err instanceof ApiError ? { error: err } : { parse: String(err) });
      }
    }, 300);
    return () => {
      clearTimeout(t);
      ctrl.abort();
    };
  }, [body]);

  const details = result?.error?.details || [];
  const at = (prefix) => details.filter((d) => d.loc === prefix || d.loc.startsWith(`${prefix}.`) || d.loc.startsWith(`${prefix}[`));
  const specErrors = details.filter((d) => d.loc === 'spec' || d.loc.startsWith('spec.') || d.loc === 'body');
  const isJson = text.trim().startsWith('{');
  const specPath = (loc) => {
    const parts = splitLoc(loc).slice(1);
    const wrapped = isJson && /^\s*\{\s*"spec"/.test(text);
    return wrapped ? ['spec', ...parts] : parts;
  };
  const where = (d) => (isJson && d.loc.startsWith('spec') ? locate(text, specPath(d.loc)) : null);
  const showField = (d) => {
    const span = where(d);
    if (!span || !editor.current) return;
    editor.current.focus();
    editor.current.setSelectionRange(span.start, span.end);
  };

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const job = await api('/v1/jobs', { method: 'POST', body: body() });
      go(`/jobs/${job.id}`);
    } catch (err) {
      setResult(err instanceof ApiError ? { error: err } : { parse: err.message });
    } finally {
      setBusy(false);
    }
  };
  const invalid = Boolean(result?.error || result?.parse);
  const specInvalid = specErrors.length > 0 || Boolean(result?.parse);

  return html`<main>
    <h1>Submit a job</h1>
    <form class="submit" onSubmit=${submit} novalidate>
      <div class="row">
        <button type="button" id="load-example" onClick=${() => setText(JSON.stringify(fodo, null, 2))}>Start from the FODO example</button>
        <label>Upload a spec (JSON or YAML) <input type="file" id="spec-file" accept=".json,.yaml,.yml,application/json" onChange=${readFile(setText)} /></label>
      </div>
      <label for="spec">JobSpec (JSON or YAML)</label>
      <textarea id="spec" ref=${editor} rows="18" spellcheck="false" value=${text}
        aria-invalid=${specInvalid ? 'true' : 'false'} aria-describedby="spec-errors"
        onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      <div id="spec-errors" aria-live="polite">
        ${result?.parse && html`<p class="field-error" role="alert">${result.parse}</p>`}
        ${specErrors.length > 0 && html`<ul class="field-errors" data-testid="spec-errors">
          ${specErrors.map((d) => {
            const span = where(d);
            return html`<li class="field-error" data-loc=${d.loc}><code>${d.loc}</code>${span ? ` (line ${span.line})` : ''}: ${d.msg}
              ${span && html` <button type="button" class="link" onClick=${() => showField(d)}>show field</button>`}</li>`;
          })}
        </ul>`}
        ${result?.ok && html`<p class="ok" data-testid="spec-valid">Valid: ${result.ok.name}, ${result.ok.spec.lattice.elements.length} elements × ${result.ok.spec.lattice.periods} period(s)</p>`}
      </div>
      ${result?.ok && html`<${Lattice} spec=${result.ok.spec} />`}
      <${PriorityDevice} prefix="" priority=${priority} setPriority=${setPriority} device=${device}
        setDevice=${setDevice} at=${at} />
      <details>
        <summary>Hook module (optional)</summary>
        <label for="hook">Python source defining before_period, after_period, before_element, after_element or before_slice</label>
        <textarea id="hook" rows="8" spellcheck="false" value=${hook} aria-invalid=${at('hook_module').length ? 'true' : 'false'}
          aria-describedby="hook-error" onInput=${(e) => setHook(e.currentTarget.value)}></textarea>
        <label>Upload a hook module <input type="file" id="hook-file" accept=".py,text/x-python" onChange=${readFile(setHook)} /></label>
        <${FieldError} id="hook-error" errors=${at('hook_module')} />
      </details>
      <button type="submit" id="submit-job" disabled=${busy || invalid || !result?.ok}>Submit</button>
    </form>
  </main>`;
}

// -- shell ----------------------------------------------------------------------------------------
function App() {
  const [authed, setAuthed] = useState(Boolean(session.get()));
  const route = useRoute();
  useEffect(() => whenUnauthorized(() => {
    session.clear();
    setAuthed(false);
  }), []);
  if (!authed) return html`<${Login} onLogin=${() => setAuthed(true)} />`;
  const [page, id] = route;
  let body;
  if (page === 'jobs' && id) body = html`<${JobPage} key=${id} jobId=${id} />`;
  else if (page === 'submit') body = html`<${SubmitPage} />`;
  else if (page === 'scans' && id === 'new') body = html`<${ScanSubmitPage} />`;
  else if (page === 'scans' && id) body = html`<${ScanPage} key=${id} scanId=${id} />`;
  else if (page === 'scans') body = html`<${ScansPage} />`;
  else body = html`<${JobsPage} />`;
  const logout = () => {
    session.clear();
    setAuthed(false);
  };
  return html`<div>
    <a class="skip" href="#content" onClick=${(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>Skip to content</a>
    <header><nav aria-label="main">
      <strong>beamtrack</strong>
      <a href="#/jobs" aria-current=${page !== 'submit' && page !== 'scans' ? 'page' : undefined}>Jobs</a>
      <a href="#/submit" aria-current=${page === 'submit' ? 'page' : undefined}>Submit</a>
      <a href="#/scans" aria-current=${page === 'scans' ? 'page' : undefined}>Scans</a>
      <a href="/docs">API docs</a>
      <button type="button" id="logout" onClick=${logout}>Sign out</button>
    </nav></header>
    <div id="content" tabindex="-1">${body}</div>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
