// Small inline-SVG charts for report.html: line/step charts (CDFs, per-turn
// TTFT) and grouped bar charts with reference lines. No library, no network;
// colours come from CSS variables so the page's light/dark theme applies.
// Every text is escaped.
import { escapeHtml } from './text.ts';

export interface Series {
  name: string;
  points: [number, number][];
  /** CSS colour, usually a variable: var(--c-warm). */
  color: string;
  dashed?: boolean;
  /** Draw as a step function (empirical CDF). */
  step?: boolean;
  markers?: boolean;
}

export interface RefLine {
  axis: 'x' | 'y';
  value: number;
  label: string;
}

export interface LineChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  refLines?: RefLine[];
  xMin?: number;
  yMin?: number;
  yMax?: number;
  xInteger?: boolean;
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

export interface Bar {
  series: string;
  value: number | null;
  color: string;
  /** Drawn behind the bar, lighter (e.g. blocks queried behind blocks hit). */
  ghost?: number | undefined;
  /** A per-bar threshold mark. */
  ref?: number | undefined;
  /** Text above the bar; defaults to the value. */
  label?: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface BarChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  yLabel: string;
  groups: BarGroup[];
  /** One threshold across the whole chart. */
  refLine?: { value: number; label: string };
  /** Legend entries: series name → colour (and the ghost's meaning). */
  legend: { name: string; color: string; ghost?: boolean }[];
  yFormat?: (v: number) => string;
}

const W = 640;
const H = 300;
const M = { l: 60, r: 18, t: 14, b: 52 };
const PW = W - M.l - M.r;
const PH = H - M.t - M.b;

function r2(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

/** Round tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max === min) {
    const pad = Math.abs(max) > 0 ? Math.abs(max) * 0.5 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const start = Math.floor(min / step + 1e-9) * step;
  const end = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v <= end + step * 1e-6; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function defaultFormat(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

function frame(spec: { id: string; title: string; subtitle?: string | undefined }, svgBody: string, legend: string, ariaLabel: string): string {
  return [
    `<figure class="chart" id="${escapeHtml(spec.id)}">`,
    `<figcaption><span class="chart-title">${escapeHtml(spec.title)}</span>${spec.subtitle ? `<span class="chart-sub">${escapeHtml(spec.subtitle)}</span>` : ''}</figcaption>`,
    `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(ariaLabel)}" preserveAspectRatio="xMidYMid meet">${svgBody}</svg>`,
    legend,
    '</figure>',
  ].join('');
}

function legendHtml(items: { key: string; name: string; color: string; dashed?: boolean | undefined; ghost?: boolean | undefined }[]): string {
  if (!items.length) return '';
  const swatch = (i: (typeof items)[number]) => `<span class="swatch${i.dashed ? ' dashed' : ''}${i.ghost ? ' ghost' : ''}" style="--sw:${escapeHtml(i.color)}"></span>`;
  return `<div class="legend">${items
    .map((i) =>
      // A ghost (e.g. "queried") belongs to its bar's series: shown, not a toggle of its own.
      i.ghost
        ? `<span class="legend-item static">${swatch(i)}${escapeHtml(i.name)}</span>`
        : `<button type="button" class="legend-item" data-key="${escapeHtml(i.key)}" aria-pressed="true" title="show / hide">${swatch(i)}${escapeHtml(i.name)}</button>`,
    )
    .join('')}</div>`;
}

function emptyChart(spec: { id: string; title: string; subtitle?: string | undefined }, message: string): string {
  const body = `<rect class="plot-bg" x="${M.l}" y="${M.t}" width="${PW}" height="${PH}"/><text class="empty-note" x="${M.l + PW / 2}" y="${M.t + PH / 2}" text-anchor="middle">${escapeHtml(message)}</text>`;
  return frame(spec, body, '', `${spec.title}: ${message}`).replace('class="chart"', 'class="chart empty"');
}

function axes(xTicks: number[], yTicks: number[], sx: (v: number) => number, sy: (v: number) => number, xf: (v: number) => string, yf: (v: number) => string, xLabel: string, yLabel: string): string {
  const parts: string[] = [`<rect class="plot-bg" x="${M.l}" y="${M.t}" width="${PW}" height="${PH}"/>`];
  for (const t of yTicks) {
    const y = r2(sy(t));
    parts.push(`<path class="grid" d="M${M.l} ${y}H${M.l + PW}"/>`);
    parts.push(`<text class="tick" x="${M.l - 8}" y="${y}" dy="0.32em" text-anchor="end">${escapeHtml(yf(t))}</text>`);
  }
  for (const t of xTicks) {
    const x = r2(sx(t));
    parts.push(`<path class="grid grid-x" d="M${x} ${M.t}V${M.t + PH}"/>`);
    parts.push(`<text class="tick" x="${x}" y="${M.t + PH + 18}" text-anchor="middle">${escapeHtml(xf(t))}</text>`);
  }
  parts.push(`<path class="axis" d="M${M.l} ${M.t}V${M.t + PH}H${M.l + PW}"/>`);
  parts.push(`<text class="axis-label" x="${M.l + PW / 2}" y="${H - 8}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text class="axis-label" transform="translate(14 ${M.t + PH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`);
  return parts.join('');
}

export function lineChart(spec: LineChartSpec): string {
  const series = spec.series.filter((s) => s.points.some(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  if (!series.length) return emptyChart(spec, 'no data in this run');
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const refs = spec.refLines ?? [];
  const xs = [...pts.map((p) => p[0]), ...refs.filter((r) => r.axis === 'x').map((r) => r.value)];
  const ys = [...pts.map((p) => p[1]), ...refs.filter((r) => r.axis === 'y').map((r) => r.value)];
  const xMin = spec.xMin ?? Math.min(...xs);
  const xMaxRaw = Math.max(...xs);
  let xTicks = niceTicks(xMin, xMaxRaw);
  if (spec.xInteger) {
    const lo = Math.floor(xMin);
    const hi = Math.ceil(xMaxRaw);
    const step = Math.max(1, Math.ceil((hi - lo) / 8));
    xTicks = [];
    for (let v = lo; v <= hi; v += step) xTicks.push(v);
    if (xTicks.length === 1) xTicks.push(lo + 1);
  }
  const yTicks = niceTicks(spec.yMin ?? Math.min(0, ...ys), spec.yMax ?? Math.max(...ys));
  const x0 = xTicks[0]!;
  const x1 = xTicks.at(-1)!;
  const y0 = yTicks[0]!;
  const y1 = yTicks.at(-1)!;
  const sx = (v: number) => M.l + ((v - x0) / (x1 - x0 || 1)) * PW;
  const sy = (v: number) => M.t + PH - ((v - y0) / (y1 - y0 || 1)) * PH;
  const xf = spec.xFormat ?? defaultFormat;
  const yf = spec.yFormat ?? defaultFormat;
  const body: string[] = [axes(xTicks, yTicks, sx, sy, xf, yf, spec.xLabel, spec.yLabel)];
  series.forEach((s, i) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    let d: string;
    if (s.step) {
      // Empirical CDF: flat until each sample, then up to its cumulative fraction.
      d = `M${r2(sx(x0))} ${r2(sy(0))}` + p.map(([x, y]) => `H${r2(sx(x))}V${r2(sy(y))}`).join('') + `H${r2(sx(x1))}`;
    } else d = p.map(([x, y], j) => `${j ? 'L' : 'M'}${r2(sx(x))} ${r2(sy(y))}`).join('');
    const markers = s.markers
      ? p.map(([x, y]) => `<circle class="marker" cx="${r2(sx(x))}" cy="${r2(sy(y))}" r="3.5" style="fill:${escapeHtml(s.color)}"><title>${escapeHtml(`${s.name}: ${xf(x)} → ${yf(y)}`)}</title></circle>`).join('')
      : '';
    body.push(
      `<g class="series" data-key="s${i}"><path class="line${s.dashed ? ' dashed' : ''}" d="${d}" style="stroke:${escapeHtml(s.color)}"><title>${escapeHtml(s.name)}</title></path>${markers}</g>`,
    );
  });
  for (const r of refs) {
    if (r.axis === 'x') {
      const x = r2(sx(r.value));
      body.push(`<g class="ref"><path class="ref-line" d="M${x} ${M.t}V${M.t + PH}"/><text class="ref-label" x="${x}" y="${M.t + 12}" dx="4">${escapeHtml(r.label)}</text></g>`);
    } else {
      const y = r2(sy(r.value));
      body.push(`<g class="ref"><path class="ref-line" d="M${M.l} ${y}H${M.l + PW}"/><text class="ref-label" x="${M.l + PW - 4}" y="${y}" dy="-4" text-anchor="end">${escapeHtml(r.label)}</text></g>`);
    }
  }
  const legend = legendHtml(series.map((s, i) => ({ key: `s${i}`, name: s.name, color: s.color, dashed: s.dashed })));
  return frame(spec, body.join(''), legend, `${spec.title}: ${series.map((s) => s.name).join(', ')}`);
}

export function barChart(spec: BarChartSpec): string {
  const groups = spec.groups.filter((g) => g.bars.some((b) => b.value !== null && Number.isFinite(b.value)));
  if (!groups.length) return emptyChart(spec, 'no data in this run');
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.value ?? 0, b.ghost ?? 0, b.ref ?? 0]));
  if (spec.refLine) values.push(spec.refLine.value);
  const yTicks = niceTicks(0, Math.max(...values, 0) * 1.08 || 1);
  const y1 = yTicks.at(-1)!;
  const sy = (v: number) => M.t + PH - (v / (y1 || 1)) * PH;
  const yf = spec.yFormat ?? defaultFormat;
  const parts: string[] = [`<rect class="plot-bg" x="${M.l}" y="${M.t}" width="${PW}" height="${PH}"/>`];
  for (const t of yTicks) {
    const y = r2(sy(t));
    parts.push(`<path class="grid" d="M${M.l} ${y}H${M.l + PW}"/>`);
    parts.push(`<text class="tick" x="${M.l - 8}" y="${y}" dy="0.32em" text-anchor="end">${escapeHtml(yf(t))}</text>`);
  }
  const groupW = PW / groups.length;
  const seriesNames = spec.legend.map((l) => l.name);
  groups.forEach((g, gi) => {
    const n = Math.max(1, g.bars.length);
    const inner = Math.min(groupW * 0.78, 72 * n);
    const barW = inner / n;
    const gx = M.l + gi * groupW + (groupW - inner) / 2;
    g.bars.forEach((b, bi) => {
      const x = gx + bi * barW + barW * 0.08;
      const w = barW * 0.84;
      const key = `s${Math.max(0, seriesNames.indexOf(b.series))}`;
      const parts2: string[] = [];
      if (b.ghost !== undefined && Number.isFinite(b.ghost) && b.ghost > 0) {
        parts2.push(`<rect class="bar ghost" x="${r2(x)}" y="${r2(sy(b.ghost))}" width="${r2(w)}" height="${r2(sy(0) - sy(b.ghost))}" style="fill:${escapeHtml(b.color)}"><title>${escapeHtml(`${g.label} — ${b.series}: of ${yf(b.ghost)}`)}</title></rect>`);
      }
      if (b.value !== null && Number.isFinite(b.value)) {
        const h = Math.max(sy(0) - sy(b.value), b.value > 0 ? 1 : 0);
        parts2.push(`<rect class="bar" x="${r2(x)}" y="${r2(sy(0) - h)}" width="${r2(w)}" height="${r2(h)}" style="fill:${escapeHtml(b.color)}"><title>${escapeHtml(`${g.label} — ${b.series}: ${yf(b.value)}`)}</title></rect>`);
        parts2.push(`<text class="bar-label" x="${r2(x + w / 2)}" y="${r2(sy(0) - h - 5)}" text-anchor="middle">${escapeHtml(b.label ?? yf(b.value))}</text>`);
      } else {
        parts2.push(`<text class="bar-label na" x="${r2(x + w / 2)}" y="${r2(sy(0) - 5)}" text-anchor="middle">n/a</text>`);
      }
      if (b.ref !== undefined && Number.isFinite(b.ref)) {
        parts2.push(`<path class="ref-line" d="M${r2(x - 3)} ${r2(sy(b.ref))}h${r2(w + 6)}"><title>${escapeHtml(`threshold ${yf(b.ref)}`)}</title></path>`);
      }
      parts.push(`<g class="series" data-key="${key}">${parts2.join('')}</g>`);
    });
    // Up to two lines ("test\npass"), each cut to its slot.
    const cx = r2(M.l + gi * groupW + groupW / 2);
    const lines = g.label.split('\n').slice(0, 2);
    const tspans = lines.map((l, li) => `<tspan x="${cx}" dy="${li ? '1.2em' : '0'}">${escapeHtml(truncateLabel(l, groupW))}</tspan>`).join('');
    parts.push(`<text class="tick group-label" x="${cx}" y="${M.t + PH + 16}" text-anchor="middle"><title>${escapeHtml(g.label.replace(/\n/g, ' '))}</title>${tspans}</text>`);
  });
  parts.push(`<path class="axis" d="M${M.l} ${M.t}V${M.t + PH}H${M.l + PW}"/>`);
  parts.push(`<text class="axis-label" transform="translate(14 ${M.t + PH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`);
  if (spec.refLine) {
    const y = r2(sy(spec.refLine.value));
    parts.push(`<g class="ref"><path class="ref-line" d="M${M.l} ${y}H${M.l + PW}"/><text class="ref-label" x="${M.l + PW - 4}" y="${y}" dy="-5" text-anchor="end">${escapeHtml(spec.refLine.label)}</text></g>`);
  }
  const legend = legendHtml(spec.legend.map((l, i) => ({ key: `s${i}`, name: l.name, color: l.color, ghost: l.ghost })));
  return frame(spec, parts.join(''), legend, `${spec.title}: ${groups.map((g) => g.label.replace(/\n/g, ' ')).join(', ')}`);
}

/** Cuts a category label to what fits in its slot (about 6.5 px per character at the tick size). */
function truncateLabel(label: string, widthPx: number): string {
  const max = Math.max(4, Math.floor(widthPx / 6.5));
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

/** Sorted samples → empirical CDF points (x = value, y = fraction ≤ x). */
export function cdfPoints(samples: readonly (number | null)[]): [number, number][] {
  const s = samples.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  return s.map((v, i) => [v, (i + 1) / s.length]);
}
