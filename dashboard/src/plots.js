// Plot components: uPlot line plots fed live, the lattice strip, phase-space heatmaps.
import { html } from 'htm/preact';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Tick labels with as many digits as the tick step needs (uPlot's default rounds 1.2e-4 to 0 and
 * prints a narrow range around 9.9e-4 as equal labels); exponents for small and large values.
 */
function ticks(u, vals, axisIdx, space, incr) {
  const mag = Math.max(...vals.map((v) => Math.abs(v)));
  if (!(mag > 0) || !(incr > 0)) return vals.map(String);
  const top = Math.floor(Math.log10(mag));
  const step = Math.floor(Math.log10(incr));
  if (mag < 1e-2 || mag >= 1e5) {
    const digits = Math.min(8, Math.max(0, top - step));
    return vals.map((v) => (v === 0 ? '0' : v.toExponential(digits)));
  }
  return vals.map((v) => v.toFixed(Math.min(10, Math.max(0, -step))));
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf'];

/**
 * A line plot of columns of ``rows`` against ``x``; ``version`` changes when rows were added
 * (the rows array is appended to in place, so a live stream costs no copies of old rows).
 */
export function LinePlot({ title, rows, version, x = 's', xLabel = 's [m]', columns, yLabel, testid }) {
  const el = useRef(null);
  const plot = useRef(null);
  const names = columns.map((c) => c.key).join(',');
  useEffect(() => {
    const opts = {
      title,
      width: Math.max(320, Math.min(560, (el.current.parentElement?.clientWidth || 560) - 8)),
      height: 220,
      scales: { x: { time: false } },
      axes: [{ label: xLabel }, { label: yLabel, size: (u, values) => 30 + 7 * Math.max(3, ...(values || []).map((v) => v.length)), values: ticks }],
      series: [{ label: x }, ...columns.map((c, i) => ({ label: c.label || c.key, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
    };
    plot.current = new uPlot(opts, [[], ...columns.map(() => [])], el.current);
    return () => {
      plot.current.destroy();
      plot.current = null;
    };
  }, [title, names]);
  useEffect(() => {
    const id = requestAnimationFrame(() => {
      if (!plot.current || !el.current) return;
      const data = [rows.map((r) => r[x]), ...columns.map((c) => rows.map((r) => (r[c.key] ?? null)))];
      plot.current.setData(data);
      el.current.dataset.points = String(rows.length);
    });
    return () => cancelAnimationFrame(id);
  }, [version, names]);
  return html`<figure class="plot" data-testid=${testid} data-points="0" ref=${el} aria-label=${title}></figure>`;
}

const ELEMENT_COLORS = {
  Drift: '#cfd8dc', ChrDrift: '#cfd8dc', ExactDrift: '#cfd8dc',
  Quad: '#e53935', ChrQuad: '#e53935', SoftQuadrupole: '#e53935', ConstF: '#fb8c00',
  Sbend: '#1e88e5', ExactSbend: '#1e88e5', CFbend: '#3949ab', DipEdge: '#5e35b1', ThinDipole: '#1e88e5',
  Multipole: '#8e24aa', NonlinearLens: '#8e24aa', Kicker: '#00897b',
  Sol: '#43a047', SoftSolenoid: '#43a047', RFCavity: '#fdd835', ShortRF: '#fdd835', Buncher: '#fdd835',
  BeamMonitor: '#212121', Aperture: '#6d4c41',
};

/** The lattice along s: a box per element (height by sign of k for quads), thin ones as ticks. */
export function Lattice({ spec }) {
  const elements = spec?.lattice?.elements || [];
  const periods = spec?.lattice?.periods || 1;
  const per = elements.reduce((a, e) => a + (e.ds || 0), 0);
  const shown = elements.length * periods <= 4000 ? periods : 1;
  const total = per * shown;
  const W = 1000;
  const H = 60;
  const mid = H / 2;
  const boxes = [];
  let s = 0;
  for (let p = 0; p < shown; p++) {
    elements.forEach((e, i) => {
      const len = e.ds || 0;
      const x = total > 0 ? (s / total) * W : 0;
      const w = total > 0 ? (len / total) * W : 0;
      const fill = ELEMENT_COLORS[e.type] || '#90a4ae';
      const label = `${e.type}${e.name ? ` ${e.name}` : ''}: s = ${s.toFixed(3)} m${len ? `, ds = ${len} m` : ''}`;
      if (len > 0 && !e.type.includes('Drift')) {
        const up = (e.k ?? 1) >= 0;
        boxes.push(html`<rect key=${`${p}-${i}`} class="el" data-type=${e.type} x=${x} y=${up ? mid - 22 : mid} width=${Math.max(w, 1)} height="22" fill=${fill}><title>${label}</title></rect>`);
      } else if (len === 0) {
        boxes.push(html`<line key=${`${p}-${i}`} class="el" data-type=${e.type} x1=${x} x2=${x} y1="6" y2=${H - 6} stroke=${fill} stroke-width="1"><title>${label}</title></line>`);
      }
      s += len;
    });
  }
  const types = [...new Set(elements.map((e) => e.type))];
  return html`<figure class="lattice" aria-label="lattice along s">
    <svg viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${`${elements.length} elements, ${shown} of ${periods} periods, ${total.toFixed(3)} m`}>
      <line x1="0" x2=${W} y1=${mid} y2=${mid} stroke="#78909c" />
      ${boxes}
    </svg>
    <figcaption>
      ${shown} of ${periods} period(s), ${total.toFixed(3)} m;
      ${types.map((t) => html` <span class="swatch" style=${`background:${ELEMENT_COLORS[t] || '#90a4ae'}`}></span> ${t}`)}
    </figcaption>
  </figure>`;
}

function viridis(t) {
  // a five-stop approximation of matplotlib's viridis
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const f = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const k = Math.floor(f);
  const u = f - k;
  return stops[k].map((c, j) => Math.round(c + (stops[k + 1][j] - c) * u));
}

/** A weighted 2D histogram {x: {name, unit, edges}, y: ..., counts[i][j]} as a heatmap. */
export function Heatmap({ name, hist }) {
  const canvas = useRef(null);
  useEffect(() => {
    const nx = hist.counts.length;
    const ny = nx ? hist.counts[0].length : 0;
    const c = canvas.current;
    c.width = nx;
    c.height = ny;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(nx, ny);
    let max = 0;
    for (const row of hist.counts) for (const v of row) max = Math.max(max, v);
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < ny; j++) {
        const v = hist.counts[i][j];
        const [r, g, b] = v > 0 ? viridis(Math.sqrt(v / max)) : [255, 255, 255];
        const o = ((ny - 1 - j) * nx + i) * 4;
        img.data.set([r, g, b, 255], o);
      }
    }
    ctx.putImageData(img, 0, 0);
  }, [hist]);
  const ex = hist.x.edges;
  const ey = hist.y.edges;
  const fmt = (v) => Number(v).toExponential(2);
  return html`<figure class="heatmap" data-plane=${name}>
    <figcaption>${name}</figcaption>
    <canvas ref=${canvas} role="img" aria-label=${`${name} density`}></canvas>
    <div class="axis">${hist.x.name} [${hist.x.unit}]: ${fmt(ex[0])} … ${fmt(ex[ex.length - 1])}</div>
    <div class="axis">${hist.y.name} [${hist.y.unit}]: ${fmt(ey[0])} … ${fmt(ey[ey.length - 1])}</div>
  </figure>`;
}

function padded(u, min, max) {
  if (min === null || max === null) return [0, 1];
  const d = min === max ? Math.abs(min) * 0.1 || 1 : (max - min) * 0.05;
  return [min - d, max + d];
}

/**
 * Points (x, y) of ``rows``, one series per value of ``by`` (or one series), as points or as
 * lines through the points in x order. The x axis holds every point's x, sorted; each series has
 * its values at its own points and nulls elsewhere (spanned by its line).
 */
export function ScatterPlot({ title, rows, x, y, by, lines, testid }) {
  const el = useRef(null);
  const { data, labels } = useMemo(() => {
    const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    const pts = rows
      .map((r) => ({ x: num(r[x]), y: num(r[y]), g: by ? JSON.stringify(r[by] ?? null) : '' }))
      .filter((p) => p.x !== null && p.y !== null)
      .sort((a, b) => a.x - b.x);
    const groups = [...new Set(pts.map((p) => p.g))].sort((a, b) => {
      const na = Number(a);
      const nb = Number(b);
      return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
    });
    const xs = pts.map((p) => p.x);
    const ys = groups.map((g) => pts.map((p) => (p.g === g ? p.y : null)));
    return { data: [xs, ...ys], labels: groups.map((g) => (by ? `${by} = ${g}` : y)) };
  }, [rows, x, y, by]);
  useEffect(() => {
    const opts = {
      title,
      width: Math.max(360, Math.min(760, (el.current.parentElement?.clientWidth || 760) - 8)),
      height: 320,
      // a margin around the points, so those at the ends are drawn whole
      scales: { x: { time: false, range: padded } },
      axes: [
        { label: x, values: ticks },
        { label: y, size: (u, values) => 30 + 7 * Math.max(3, ...(values || []).map((v) => v.length)), values: ticks },
      ],
      series: [
        { label: x },
        ...labels.map((label, i) => ({
          label,
          stroke: COLORS[i % COLORS.length],
          fill: undefined,
          width: lines ? 1.5 : 0,
          spanGaps: true,
          paths: lines ? undefined : () => null,
          points: { show: true, size: 7, stroke: COLORS[i % COLORS.length], fill: COLORS[i % COLORS.length] },
        })),
      ],
    };
    const plot = new uPlot(opts, data, el.current);
    el.current.dataset.points = String(data[0].length);
    return () => plot.destroy();
  }, [title, data, labels, lines]);
  return html`<figure class="plot" data-testid=${testid} data-points="0" ref=${el} aria-label=${title}></figure>`;
}
