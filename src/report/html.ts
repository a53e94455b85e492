// report.html: one self-contained file (inline CSS, inline SVG charts drawn by
// charts.ts, a few lines of inline script for legend toggles; no network, no
// external fonts). Charts first — TTFT distributions per server and pass,
// per-turn TTFT of ShareGPT, speedup against its threshold, cache hits per
// pass, lm_eval mismatches — then tables: tests and criteria, passes,
// warnings, comparison, servers, environment, configuration.
import { writeFileAtomic } from '../results/atomic.ts';
import { layoutFor } from '../results/layout.ts';
import type { Reporter, RunOutcome } from '../suite/events.ts';
import { barChart, cdfPoints, lineChart, type Bar, type BarGroup, type Series } from './charts.ts';
import { changeText, fmtFigure } from './compare.ts';
import type { SummarySource } from './source.ts';
import type { Summary, SummaryCriterion, SummaryPass, SummaryTest } from './summary.ts';
import { escapeHtml as h, fmtDurationS, fmtNum, fmtPercent, oneLine, stripAnsi, withUnit } from './text.ts';

type Stat = 'mean' | 'p50' | 'p90' | 'p99';

function configNumber(s: Summary, path: string): number | undefined {
  let v: unknown = s.config;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

const TEST_CONFIG_KEY: Record<string, string> = { 'long-doc': 'longDoc', 'share-gpt': 'shareGpt' };

/** A criterion's threshold, matched by id or title; else the test's configured value. */
function thresholdFor(s: Summary, t: SummaryTest, re: RegExp, configLeaf: 'maxTtftS' | 'minSpeedup'): number | undefined {
  const c = t.criteria.find((c: SummaryCriterion) => (re.test(c.id) || re.test(c.title)) && typeof c.threshold === 'number');
  if (c && typeof c.threshold === 'number') return c.threshold;
  const key = TEST_CONFIG_KEY[t.test];
  return (key ? configNumber(s, `${key}.${configLeaf}`) : undefined) ?? configNumber(s, `thresholds.${configLeaf}`);
}

const KIND_COLOR: Record<SummaryPass['kind'], string> = { cold: 'var(--c-cold)', warm: 'var(--c-warm)', baseline: 'var(--c-baseline)', turn: 'var(--c-warm)' };
const PALETTE = ['var(--p0)', 'var(--p1)', 'var(--p2)', 'var(--p3)', 'var(--p4)', 'var(--p5)', 'var(--p6)', 'var(--p7)'];
const SERVER_LABEL: Record<string, string> = { 'vllm-pegaflow': 'connector', 'vllm-baseline': 'baseline' };

function passColor(p: SummaryPass, i: number, allSameKind: boolean): string {
  if (!allSameKind || p.kind !== 'turn') return KIND_COLOR[p.kind];
  return p.server === 'vllm-baseline' ? 'var(--c-baseline)' : PALETTE[i % PALETTE.length]!;
}

function ttftCdfChart(s: Summary, t: SummaryTest): string {
  const passes = (t.details?.passes ?? []).filter((p) => p.ttftSamplesS.length > 0).slice(0, 10);
  const sameKind = passes.every((p) => p.kind === passes[0]?.kind);
  const series: Series[] = passes.map((p, i) => ({
    name: `${p.id} · ${SERVER_LABEL[p.server] ?? p.server} (n=${p.ttftSamplesS.length})`,
    points: cdfPoints(p.ttftSamplesS),
    color: passColor(p, i, sameKind),
    step: true,
    dashed: p.server === 'vllm-baseline',
  }));
  const max = thresholdFor(s, t, /ttft/i, 'maxTtftS');
  return lineChart({
    id: `cdf-${t.test}`,
    title: `${t.name}: TTFT distribution`,
    subtitle: 'share of requests answered within x seconds, per pass and server',
    xLabel: 'time to first token (s)',
    yLabel: 'share of requests',
    series,
    refLines: max !== undefined ? [{ axis: 'x', value: max, label: `max ${fmtNum(max)} s` }] : [],
    xMin: 0,
    yMin: 0,
    yMax: 1,
    yFormat: (v) => `${Math.round(v * 100)}%`,
  });
}

function perTurnChart(s: Summary, t: SummaryTest): string {
  const stat = ((s.config.thresholds.ttftStat as string) in { mean: 1, p50: 1, p90: 1, p99: 1 } ? s.config.thresholds.ttftStat : 'mean') as Stat;
  const turns = t.details?.turns ?? [];
  const byServer = new Map<string, [number, number][]>();
  for (const ts of turns) {
    const v = ts.ttftS?.[stat];
    if (v === null || v === undefined) continue;
    const list = byServer.get(ts.server) ?? [];
    list.push([ts.turn, v]);
    byServer.set(ts.server, list);
  }
  const series: Series[] = [...byServer].map(([server, pts]) => ({
    name: `${SERVER_LABEL[server] ?? server} (${server})`,
    points: pts.sort((a, b) => a[0] - b[0]),
    color: server === 'vllm-baseline' ? 'var(--c-baseline)' : 'var(--c-warm)',
    dashed: server === 'vllm-baseline',
    markers: true,
  }));
  const max = thresholdFor(s, t, /ttft/i, 'maxTtftS');
  return lineChart({
    id: `turns-${t.test}`,
    title: `${t.name}: TTFT per turn`,
    subtitle: `${stat} TTFT of each user turn, connector vs baseline`,
    xLabel: 'turn',
    yLabel: `TTFT ${stat} (s)`,
    series,
    refLines: max !== undefined ? [{ axis: 'y', value: max, label: `max ${fmtNum(max)} s` }] : [],
    xInteger: true,
    yMin: 0,
  });
}

function speedupChart(s: Summary): string {
  const groups: BarGroup[] = [];
  const refs: number[] = [];
  for (const t of s.tests) {
    const v = t.metrics['speedup'];
    if (typeof v !== 'number') continue;
    const ref = thresholdFor(s, t, /speedup/i, 'minSpeedup');
    if (ref !== undefined) refs.push(ref);
    const ok = ref === undefined || v >= ref;
    groups.push({ label: t.name, bars: [{ series: 'speedup', value: v, color: ok ? 'var(--c-pass)' : 'var(--c-fail)', ref, label: `${fmtNum(v)}×` }] });
  }
  const single = refs.length > 0 && refs.every((r) => r === refs[0]);
  if (single) for (const g of groups) for (const b of g.bars) b.ref = undefined;
  return barChart({
    id: 'speedup',
    title: 'Speedup over the baseline',
    subtitle: 'baseline TTFT ÷ connector TTFT; the red line is the minimum required',
    yLabel: 'speedup (×)',
    groups,
    ...(single ? { refLine: { value: refs[0]!, label: `min ${fmtNum(refs[0]!)}×` } } : {}),
    legend: [{ name: 'speedup (green: meets the minimum, red: below)', color: 'var(--c-pass)' }],
    yFormat: (v) => `${fmtNum(v)}×`,
  });
}

function hitsCharts(s: Summary): string[] {
  const peg: BarGroup[] = [];
  const ext: BarGroup[] = [];
  for (const t of s.tests) {
    for (const p of t.details?.passes ?? []) {
      const e = p.evidence;
      if (!e || p.server !== 'vllm-pegaflow') continue;
      const label = `${t.name}\n${p.id}`;
      const pb: Bar = { series: 'hit blocks', value: e.pegaflowHitBlocks ?? null, ghost: e.pegaflowQueriedBlocks ?? undefined, color: 'var(--c-hit)' };
      peg.push({ label, bars: [pb] });
      const eb: Bar = { series: 'external hit tokens', value: e.vllmExternalHitTokens ?? null, ghost: e.vllmExternalQueryTokens ?? undefined, color: 'var(--c-ext)' };
      ext.push({ label, bars: [eb] });
    }
  }
  return [
    barChart({
      id: 'pegaflow-hits',
      title: 'PegaFlow cache hits per pass',
      subtitle: 'blocks served from a PegaFlow tier (solid) of blocks queried (light)',
      yLabel: 'blocks',
      groups: peg,
      legend: [
        { name: 'hit blocks', color: 'var(--c-hit)' },
        { name: 'queried blocks', color: 'var(--c-hit)', ghost: true },
      ],
    }),
    barChart({
      id: 'vllm-external-hits',
      title: 'vLLM external-cache hits per pass',
      subtitle: 'prompt tokens loaded through the KV connector (solid) of tokens queried (light)',
      yLabel: 'tokens',
      groups: ext,
      legend: [
        { name: 'external hit tokens', color: 'var(--c-ext)' },
        { name: 'queried tokens', color: 'var(--c-ext)', ghost: true },
      ],
    }),
  ];
}

/** Only when documents differ: identical runs are stated in the criteria table. */
function lmEvalChart(t: SummaryTest): string | undefined {
  const lm = t.details?.lmEval;
  if (!lm || !lm.mismatches.some((m) => m.count > 0)) return undefined;
  return barChart({
    id: `lm-eval-${t.test}`,
    title: `${t.name}: documents whose outputs differ`,
    subtitle: 'per comparison: differing documents (solid) of documents compared (light)',
    yLabel: 'documents',
    groups: lm.mismatches.map((m) => ({
      label: m.comparison,
      bars: [{ series: 'differing documents', value: m.count, ghost: m.total, color: 'var(--c-fail)', label: `${m.count}/${m.total}` }],
    })),
    legend: [
      { name: 'differing documents', color: 'var(--c-fail)' },
      { name: 'documents compared', color: 'var(--c-fail)', ghost: true },
    ],
  });
}

function charts(s: Summary): string {
  const out: string[] = [];
  for (const t of s.tests) if ((t.details?.passes ?? []).some((p) => p.ttftSamplesS.length)) out.push(ttftCdfChart(s, t));
  for (const t of s.tests) if (t.details?.turns?.length) out.push(perTurnChart(s, t));
  if (s.tests.some((t) => typeof t.metrics['speedup'] === 'number')) out.push(speedupChart(s));
  if (s.tests.some((t) => t.details?.passes.some((p) => p.evidence))) out.push(...hitsCharts(s));
  for (const t of s.tests) {
    const c = lmEvalChart(t);
    if (c) out.push(c);
  }
  if (!out.length) return '<p class="muted">No measurements to chart in this run (no test got as far as its passes).</p>';
  return `<div class="charts">${out.join('')}</div>`;
}

function badge(status: string): string {
  return `<span class="badge st-${h(status.toLowerCase())}">${h(status.toUpperCase())}</span>`;
}

function table(header: string[], rows: string[][], cls = ''): string {
  return `<div class="table-wrap"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${header.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

const KEY_FIGURES: [string, string, string][] = [
  ['ttft_warm_s', 'warm TTFT', 's'],
  ['ttft_cold_s', 'cold TTFT', 's'],
  ['ttft_baseline_s', 'baseline TTFT', 's'],
  ['speedup', 'speedup', '×'],
  ['pegaflow_hit_blocks', 'PegaFlow hits', ' blocks'],
];

function cards(s: Summary): string {
  return `<div class="cards">${s.tests
    .map((t) => {
      const figs = KEY_FIGURES.filter(([k]) => t.metrics[k] !== undefined)
        .map(([k, label, unit]) => {
          const v = t.metrics[k]!;
          return `<div class="fig"><span class="fig-v">${h(typeof v === 'number' ? fmtNum(v, unit === ' blocks' ? '' : unit) : v)}</span><span class="fig-l">${h(label)}</span></div>`;
        })
        .join('');
      return `<article class="card st-${h(t.status)}"><header>${badge(t.status)}<h3>${h(t.name)}</h3><span class="muted">${h(fmtDurationS(t.durationS))}</span></header><p class="reason">${h(oneLine(t.reason))}</p>${figs ? `<div class="figs">${figs}</div>` : ''}</article>`;
    })
    .join('')}</div>`;
}

function criteriaTable(s: Summary): string {
  const rows: string[][] = [];
  for (const t of s.tests) {
    rows.push([badge(t.status), `<b>${h(t.name)}</b>`, '', '', h(oneLine(t.reason))]);
    for (const c of t.criteria) {
      rows.push([
        `<span class="crit st-${h(c.status)}">${h(c.status)}</span>`,
        `<span class="indent">${h(c.title)}</span>`,
        c.measured !== undefined ? h(withUnit(c.measured, c.unit)) : '',
        c.threshold !== undefined ? h(withUnit(c.threshold, c.unit)) : '',
        h(oneLine(c.reason)),
      ]);
    }
    if (t.errorDetail) rows.push(['', '<span class="indent">detail</span>', '', '', `<pre class="log">${h(stripAnsi(t.errorDetail))}</pre>`]);
  }
  return table(['status', 'test / criterion', 'measured', 'threshold', 'reason'], rows, 'criteria');
}

function passesTable(s: Summary): string {
  const rows: string[][] = [];
  for (const t of s.tests) {
    for (const p of t.details?.passes ?? []) {
      const st = p.ttftS;
      const e = p.evidence;
      rows.push([
        h(t.name),
        h(p.id),
        h(p.server),
        h(p.kind),
        `${p.requests - p.failed}/${p.requests}`,
        h(fmtNum(st?.mean)),
        h(fmtNum(st?.p50)),
        h(fmtNum(st?.p90)),
        h(fmtNum(st?.p99)),
        h(fmtNum(e?.pegaflowHitBlocks)),
        h(fmtNum(e?.vllmExternalHitTokens)),
        h(e?.reset ?? '–'),
      ]);
    }
  }
  if (!rows.length) return '<p class="muted">No passes were recorded.</p>';
  return table(['test', 'pass', 'server', 'kind', 'ok', 'TTFT mean (s)', 'p50', 'p90', 'p99', 'PegaFlow hit blocks', 'external hit tokens', 'cache reset'], rows, 'num');
}

function comparisonSection(s: Summary): string {
  const c = s.comparison;
  if (!c) return '';
  const rows: string[][] = [
    ...c.statusChanges.map((x) => [h(x.test), 'status', h(x.old), h(x.new), '', x.regression ? '<span class="crit st-fail">regression</span>' : 'changed']),
    ...c.figures.map((f) => [
      h(f.test),
      h(f.figure),
      h(fmtFigure(f.old)),
      h(fmtFigure(f.new)),
      h(changeText(f)),
      f.verdict === 'regression' ? '<span class="crit st-fail">regression</span>' : f.verdict === 'improvement' ? '<span class="crit st-pass">improvement</span>' : h(f.verdict),
    ]),
  ];
  const notes = c.notes.map((n) => `<li>${h(n)}</li>`).join('');
  return `<section><h2>Comparison with run ${h(c.old.runId)}</h2><p>${c.regressions ? `<b>${c.regressions} regression(s)</b>` : 'No regressions'} beyond ${h(fmtPercent(c.tolerance, 0))} (warnings only; the exit code is unchanged). Old results: <code>${h(c.old.dir)}</code></p>${notes ? `<ul>${notes}</ul>` : ''}${table(['test', 'figure', 'old', 'new', 'change', 'verdict'], rows, 'num')}</section>`;
}

function serversSection(s: Summary): string {
  if (!s.servers.length) return '<section><h2>Servers</h2><p class="muted">No servers were started by this run.</p></section>';
  const rows = s.servers.map((srv) => [
    `<b>${h(srv.role)}</b>`,
    srv.readyAfterS !== undefined && srv.readyAfterS !== null ? h(`${srv.readyAfterS.toFixed(1)} s`) : '–',
    srv.exit ? h(srv.exit.signal ? `killed by ${srv.exit.signal}` : `exit ${srv.exit.code}`) : 'stopped by kvgate',
    `<code>${h(srv.logFile)}</code>`,
    `<pre class="cmd">${h(srv.commandLine.map(shellQuote).join(' '))}</pre>`,
  ]);
  return `<section><h2>Servers</h2>${table(['server', 'ready after', 'unexpected exit', 'log', 'command line'], rows)}</section>`;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function environmentSection(s: Summary): string {
  const e = s.environment;
  if (!e) return '<section><h2>Environment</h2><p class="muted">Not captured (env.json missing).</p></section>';
  const rows: string[][] = [
    ['kvgate', h(`${e.harness.version ?? '?'}${e.harness.gitSha ? ` @ ${e.harness.gitSha.slice(0, 12)}${e.harness.gitDirty ? ' (modified)' : ''}` : ''}`)],
    ['node', h(e.node.version)],
    ['OS', h(`${e.os.platform} ${e.os.release} ${e.os.arch}, host ${e.os.hostname}`)],
    ['CPU', h(`${e.os.cpus} × ${e.os.cpuModel ?? '?'}, ${(e.os.memoryBytes / 1024 ** 3).toFixed(0)} GiB RAM`)],
    ['GPUs', e.gpus.length ? e.gpus.map((g) => h(`${g.index}: ${g.name}, ${g.memoryTotal}, driver ${g.driverVersion}`)).join('<br>') : '<span class="muted">none found</span>'],
  ];
  for (const [tool, p] of Object.entries(e.tools)) {
    const text = p.status === 'ok' ? h(p.version ?? 'ok') : `<span class="muted">${h(p.status)}${p.detail ? `: ${h(p.detail)}` : ''}</span>`;
    rows.push([h(tool), `${text} <span class="muted small">(${h(p.command.join(' '))})</span>`]);
  }
  return `<section><h2>Environment</h2>${table(['', ''], rows, 'kv')}</section>`;
}

/** Flattens the configuration into dotted keys. */
export function flatten(obj: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    const o = obj as Record<string, unknown>;
    // Sizes print as written.
    if (typeof o['text'] === 'string' && typeof o['bytes'] === 'number' && Object.keys(o).length === 2) {
      out.push([prefix, o['text'] as string]);
      return out;
    }
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix, Array.isArray(obj) ? obj.map(String).join(' ') : String(obj)]);
  return out;
}

function configSection(s: Summary): string {
  const rows = flatten(s.config).map(([k, v]) => [`<code>${h(k)}</code>`, h(v)]);
  return `<section><h2>Configuration</h2><details><summary>${rows.length} resolved settings</summary>${table(['setting', 'value'], rows, 'kv')}</details></section>`;
}

const CSS = `
:root{color-scheme:light dark;--bg:#f6f7f9;--surface:#fff;--text:#1f2328;--muted:#59636e;--border:#d8dee4;--grid:#e9edf1;--plot:#fbfcfd;
--c-pass:#1a7f37;--c-fail:#cf222e;--c-warn:#9a6700;--c-info:#0969da;--c-warm:#2563eb;--c-cold:#7aa7f0;--c-baseline:#e8590c;--c-hit:#0f9488;--c-ext:#7c3aed;--c-ref:#d1242f;
--p0:#2563eb;--p1:#0f9488;--p2:#7c3aed;--p3:#c2410c;--p4:#0369a1;--p5:#be185d;--p6:#4d7c0f;--p7:#6b7280}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--surface:#161b22;--text:#e6edf3;--muted:#9198a1;--border:#30363d;--grid:#262c34;--plot:#11161d;
--c-pass:#3fb950;--c-fail:#f85149;--c-warn:#d29922;--c-info:#58a6ff;--c-warm:#60a5fa;--c-cold:#a5c8fb;--c-baseline:#fb923c;--c-hit:#2dd4bf;--c-ext:#a78bfa;--c-ref:#ff7b72;
--p0:#60a5fa;--p1:#2dd4bf;--p2:#a78bfa;--p3:#fb923c;--p4:#38bdf8;--p5:#f472b6;--p6:#a3e635;--p7:#9ca3af}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:26px;margin:0;font-weight:650;letter-spacing:-.01em}
h2{font-size:19px;margin:36px 0 12px;font-weight:620;border-bottom:1px solid var(--border);padding-bottom:6px}
h3{font-size:16px;margin:0;font-weight:620}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-all;margin:0}
.muted{color:var(--muted)}.small{font-size:12px}
.top{display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.meta{color:var(--muted);margin:8px 0 0}
.meta b{color:var(--text);font-weight:600}
.badge{display:inline-block;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:700;letter-spacing:.04em;color:#fff;background:var(--muted)}
.top .badge{font-size:15px;padding:4px 14px}
.st-pass,.st-passed{background:var(--c-pass)}.st-fail,.st-failed,.st-error{background:var(--c-fail)}.st-interrupted,.st-inconclusive{background:var(--c-warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:14px;margin-top:22px}
.card{background:var(--surface);border:1px solid var(--border);border-left:5px solid var(--muted);border-radius:10px;padding:14px 16px}
.card.st-pass{border-left-color:var(--c-pass);background:var(--surface)}.card.st-fail,.card.st-error{border-left-color:var(--c-fail);background:var(--surface)}.card.st-interrupted,.card.st-inconclusive{border-left-color:var(--c-warn);background:var(--surface)}
.card header{display:flex;gap:10px;align-items:center;flex-wrap:wrap}.card header .muted{margin-left:auto}
.reason{margin:8px 0 0;color:var(--muted);font-size:14px}
.figs{display:flex;gap:18px;flex-wrap:wrap;margin-top:10px}
.fig{display:flex;flex-direction:column}.fig-v{font-size:18px;font-weight:650;font-variant-numeric:tabular-nums}.fig-l{font-size:12px;color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.chart{margin:0;background:var(--surface);border:1px solid var(--border);border-radius:10px;padding:12px 14px 10px}
figcaption{display:flex;flex-direction:column;margin-bottom:4px}.chart-title{font-weight:620}.chart-sub{font-size:12.5px;color:var(--muted)}
.chart svg{width:100%;height:auto;display:block;font-size:11.5px}
.plot-bg{fill:var(--plot)}.grid{stroke:var(--grid);stroke-width:1}.axis{stroke:var(--muted);fill:none;stroke-width:1}
.tick{fill:var(--muted)}.axis-label{fill:var(--text);font-size:12px}
.line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}.line.dashed{stroke-dasharray:7 4}
.marker{stroke:var(--surface);stroke-width:1.5}
.bar{stroke:none}.bar.ghost{opacity:.25}.bar-label{fill:var(--text);font-size:11px;font-variant-numeric:tabular-nums}.bar-label.na{fill:var(--muted)}
.ref-line{stroke:var(--c-ref);stroke-width:1.6;stroke-dasharray:5 3;fill:none}.ref-label{fill:var(--c-ref);font-size:11px;font-weight:600}
.empty-note{fill:var(--muted);font-size:13px}
.series.off{display:none}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin-top:6px}
.legend-item{display:inline-flex;align-items:center;gap:6px;font:inherit;font-size:12.5px;color:var(--text);background:none;border:0;padding:2px 0;cursor:pointer}
.legend-item.static{cursor:default}.legend-item[aria-pressed=false]{opacity:.4;text-decoration:line-through}
.swatch{width:18px;height:4px;border-radius:2px;background:var(--sw)}.swatch.dashed{background:repeating-linear-gradient(90deg,var(--sw) 0 6px,transparent 6px 9px)}.swatch.ghost{opacity:.3;height:10px}
.table-wrap{overflow-x:auto;background:var(--surface);border:1px solid var(--border);border-radius:10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:7px 12px;border-bottom:1px solid var(--border);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;background:var(--plot)}
tr:last-child td{border-bottom:0}
table.num td{font-variant-numeric:tabular-nums}
table.kv td:first-child{white-space:nowrap;color:var(--muted);width:1%}
.crit{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600;color:#fff;background:var(--muted)}
.crit.st-pass{background:var(--c-pass)}.crit.st-fail{background:var(--c-fail)}.crit.st-inconclusive{background:var(--c-warn)}.crit.st-skipped{background:var(--muted)}
.indent{padding-left:14px;display:inline-block}
pre.cmd,pre.log{background:var(--plot);border:1px solid var(--border);border-radius:6px;padding:6px 8px;max-height:260px;overflow:auto}
ul.warnings{padding-left:20px;margin:0}ul.warnings li{margin:4px 0}
details>summary{cursor:pointer;color:var(--c-info);margin-bottom:8px}
footer{margin-top:40px;color:var(--muted);font-size:12.5px}
`;

// Legend toggles; marks the document when it ran (the report test checks it).
const SCRIPT = `(function(){document.addEventListener('click',function(e){var t=e.target;var b=t&&t.closest?t.closest('button.legend-item'):null;if(!b)return;var f=b.closest('figure');var on=b.getAttribute('aria-pressed')!=='false';b.setAttribute('aria-pressed',on?'false':'true');var gs=f.querySelectorAll('g.series[data-key="'+b.getAttribute('data-key')+'"]');for(var i=0;i<gs.length;i++){gs[i].classList.toggle('off',on);}});document.documentElement.setAttribute('data-report-ready','1');})();`;

export function renderHtml(s: Summary): string {
  const env = s.environment;
  const meta = [
    `<b>${h(s.config.stack)}</b> stack`,
    `model <b>${h(s.config.model)}</b>`,
    s.config.suite.quick ? 'quick (no baseline)' : 'full suite',
    `started ${h(s.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}`,
    `took <b>${h(fmtDurationS(s.durationS))}</b>`,
    `exit code <b>${s.exitCode}</b>`,
    ...(env?.gpus.length ? [`GPU <b>${h(env.gpus[0]!.name)}</b>${env.gpus.length > 1 ? ` ×${env.gpus.length}` : ''}`] : []),
  ].join(' · ');
  const warnings = s.warnings.length
    ? `<section><h2>Warnings</h2><ul class="warnings">${s.warnings.map((w) => `<li>${h(oneLine(w))}</li>`).join('')}</ul></section>`
    : '';
  const abort = s.abortReason ? `<p class="reason"><b>Stopped early:</b> ${h(s.abortReason)}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>kvgate ${h(s.status)} — run ${h(s.runId)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header><div class="top">${badge(s.status)}<h1>kvgate run ${h(s.runId)}</h1></div><p class="meta">${meta}</p>${abort}</header>
${cards(s)}
<section><h2>Charts</h2>${charts(s)}</section>
<section><h2>Tests and criteria</h2>${criteriaTable(s)}</section>
<section><h2>Passes</h2>${passesTable(s)}</section>
${warnings}
${comparisonSection(s)}
${serversSection(s)}
${environmentSection(s)}
${configSection(s)}
<footer>Generated by kvgate${env?.harness.version ? ` ${h(env.harness.version)}` : ''} from <code>${h(s.resultsDir)}/summary.json</code> (schema version ${s.schemaVersion}).</footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export class HtmlReporter implements Reporter {
  readonly name = 'html';
  constructor(private readonly source: SummarySource) {}

  async onEnd(outcome: RunOutcome): Promise<void> {
    const summary = await this.source.get(outcome);
    await writeFileAtomic(layoutFor(outcome.resultsDir).reportHtml, renderHtml(summary));
  }
}
