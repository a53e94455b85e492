import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { HtmlReporter, renderHtml } from '../../src/report/html.ts';
import { SummarySource } from '../../src/report/source.ts';
import { buildSummary } from '../../src/report/summary.ts';
import { drive } from './fixtures/drive.ts';
import { faultyFixture, fakeEnvironment, passingFixture } from './fixtures/outcomes.ts';
import { countNear, decodePng, distinctColours } from './fixtures/png.ts';
import { parseXml } from './fixtures/xml.ts';

const CHROMIUM = '/usr/bin/chromium';
const XSS = '<script>window.__pwned=1</script><img src=x onerror=alert(1)>';

function passingHtml(): string {
  const f = passingFixture();
  f.outcome.tests[1]!.criteria[0]!.title = `warm TTFT ${XSS}`;
  f.outcome.warnings.push(`a warning ${XSS}`);
  return renderHtml(buildSummary(f.outcome, { environment: fakeEnvironment() }));
}

t.test('report.html is self-contained: no external scripts, styles, fonts or images', async (t) => {
  const html = passingHtml();
  t.notMatch(html, /<link\b/i, 'no <link>');
  t.notMatch(html, /<[a-z][^>]*\ssrc\s*=/i, 'no tag with src= (scripts and images are inline)');
  t.notMatch(html, /@import|url\(/i, 'no CSS imports or url()');
  t.notMatch(html, /https?:\/\//i, 'no URLs at all');
  t.match(html, /Content-Security-Policy" content="default-src 'none'/, 'a CSP that forbids any fetch');
});

t.test('all text is escaped', async (t) => {
  const html = passingHtml();
  t.notOk(html.includes(XSS), 'the raw markup never appears');
  t.ok(html.includes('&lt;script&gt;window.__pwned=1&lt;/script&gt;'), 'it appears escaped');
  t.equal((html.match(/<script>/g) ?? []).length, 1, 'only our own script');
});

t.test('charts come first and every SVG is well-formed with drawn marks', async (t) => {
  const html = passingHtml();
  t.ok(html.indexOf('<h2>Charts</h2>') < html.indexOf('<h2>Tests and criteria</h2>'), 'charts before tables');
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  const ids = [...html.matchAll(/<figure class="chart" id="([^"]+)"/g)].map((m) => m[1]);
  t.same(ids, ['cdf-long-doc', 'cdf-share-gpt', 'turns-share-gpt', 'speedup', 'pegaflow-hits', 'vllm-external-hits'], 'TTFT CDFs, per-turn TTFT, speedup, cache hits');
  t.equal(svgs.length, ids.length);
  for (const svg of svgs) {
    const tree = parseXml(svg);
    const marks = [...svg.matchAll(/<g class="series"[^>]*>([\s\S]*?)<\/g>/g)];
    t.ok(marks.length > 0, `${tree.attrs['aria-label']?.slice(0, 40)}: has series`);
    t.ok(marks.every((m) => /<path class="line[^"]*" d="M[\d.]+ [\d.]+[HVL]/.test(m[1]!) || /<rect class="bar[^"]*" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"/.test(m[1]!)), 'non-empty paths or bars');
  }
  t.match(html, /max 0\.22 s/, 'TTFT threshold line');
  t.match(html, /min 1\.2×/, 'speedup threshold line');
});

t.test('lm_eval mismatches get a chart only when documents differ', async (t) => {
  const f = passingFixture();
  t.notMatch(renderHtml(buildSummary(f.outcome)), /id="lm-eval-lm-eval"/);
  f.outcome.tests[0]!.details!.lmEval!.mismatches[1] = { comparison: 'connector vs baseline', docIds: [3, 17], count: 2, total: 50 };
  t.match(renderHtml(buildSummary(f.outcome)), /id="lm-eval-lm-eval"[\s\S]*2\/50/);
});

t.test('a run that stopped before any pass still renders, with tables', async (t) => {
  const f = faultyFixture();
  f.outcome.tests[1]!.details = undefined;
  f.outcome.tests[1]!.metrics = {};
  const html = renderHtml(buildSummary(f.outcome));
  t.match(html, /No measurements to chart in this run/);
  t.match(html, /<h2>Servers<\/h2>/);
  t.match(html, /killed by SIGSEGV/);
});

// ── In a real browser ────────────────────────────────────────────────────────

interface BrowserRun {
  dom: string;
  consoleLines: string[];
  status: number | null;
  /** http(s) URLs the page asked for (Chromium's own update/account pings left out), from its NetLog. */
  pageRequests: string[];
}

/** Every http(s)/ws(s) URL in a Chromium NetLog. */
function netLogUrls(file: string): string[] {
  const urls = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (/^(https?|wss?):\/\//.test(v)) urls.add(v.split(' ')[0]!);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  try {
    walk((JSON.parse(readFileSync(file, 'utf8')) as { events?: unknown }).events);
  } catch {
    return ['(NetLog unreadable)'];
  }
  return [...urls];
}

const BROWSER_OWN = /^(https?|wss?):\/\/([^/]*\.)?(google\.com|googleapis\.com|gstatic\.com|gvt1\.com|~notfound)(\/|:|$)/;

function chromium(url: string, extra: string[]): BrowserRun {
  const profile = mkdtempSync(join(tmpdir(), 'kvgate-chromium-'));
  const netLog = join(profile, 'netlog.json');
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--enable-logging=stderr',
      '--v=0',
      // No name resolves: nothing leaves the machine; every request is still in the NetLog.
      '--host-resolver-rules=MAP * ~NOTFOUND',
      `--log-net-log=${netLog}`,
      '--hide-scrollbars',
      ...extra,
      url,
    ],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  // Chromium logs every console message and uncaught error of the page as INFO:CONSOLE.
  const consoleLines = (r.stderr ?? '').split('\n').filter((l) => /:CONSOLE|Uncaught|ERR_NAME_NOT_RESOLVED|Failed to load resource/.test(l));
  const pageRequests = existsSync(netLog) ? netLogUrls(netLog).filter((u) => !BROWSER_OWN.test(u)) : ['(no NetLog written)'];
  return { dom: r.stdout ?? '', consoleLines, status: r.status, pageRequests };
}

/** Measures, in the page, each chart's size and the drawn marks inside it (injected into a copy of the report). */
const PROBE = `<script>(function(){var out=[];var figs=document.querySelectorAll('figure.chart');for(var i=0;i<figs.length;i++){var svg=figs[i].querySelector('svg');var box=svg.getBoundingClientRect();var els=svg.querySelectorAll('g.series path, g.series rect');var drawn=0;for(var j=0;j<els.length;j++){var b=els[j].getBBox();if(b.width>0.5||b.height>0.5)drawn++;}out.push({id:figs[i].id,w:Math.round(box.width),h:Math.round(box.height),drawn:drawn});}document.body.setAttribute('data-geometry',JSON.stringify(out));document.body.setAttribute('data-bg',getComputedStyle(document.body).backgroundColor);})();</script>`;

function geometry(dom: string): { id: string; w: number; h: number; drawn: number }[] {
  const m = /data-geometry="([^"]*)"/.exec(dom);
  return m ? JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) : [];
}

function chartProblems(run: BrowserRun): string[] {
  const problems = run.consoleLines.map((l) => `console: ${l.replace(/^\[[^\]]*\]\s*/, '')}`);
  for (const u of run.pageRequests) problems.push(`network: ${u}`);
  if (!/data-report-ready="1"/.test(run.dom)) problems.push('the report script did not run to its end');
  const g = geometry(run.dom);
  if (!g.length) problems.push('no charts found');
  for (const c of g) {
    if (c.w < 200 || c.h < 100) problems.push(`${c.id}: laid out at ${c.w}×${c.h}`);
    if (c.drawn === 0) problems.push(`${c.id}: nothing drawn`);
  }
  return problems;
}

t.test('in headless Chromium the charts render, scripts run, no console errors, no network', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install -y --no-install-recommends chromium)` }, async (t) => {
  const f = passingFixture();
  await drive([new HtmlReporter(new SummarySource({}))], { ...f.outcome });
  const report = join(f.dir, 'report.html');
  const html = readFileSync(report, 'utf8');
  const probed = join(f.dir, 'report.probed.html');
  writeFileSync(probed, html.replace('</body>', `${PROBE}</body>`));

  const run = chromium(`file://${probed}`, ['--window-size=1280,2600', '--dump-dom']);
  t.equal(run.status, 0, 'chromium exited cleanly');
  t.same(chartProblems(run), [], 'charts laid out with drawn marks; script ran; console clean');
  const g = geometry(run.dom);
  t.equal(g.length, 6);
  t.ok(g.find((c) => c.id === 'cdf-long-doc')!.drawn >= 3, 'one CDF line per pass');

  // The checks above can fail: a broken page and an empty chart are caught.
  const broken = join(f.dir, 'broken.html');
  writeFileSync(broken, html.replace('</body>', `<script>undefinedFunction()</script>${PROBE}</body>`).replace(/<g class="series"[\s\S]*?<\/g>/, '<g class="series"></g>'));
  const bad = chartProblems(chromium(`file://${broken}`, ['--dump-dom']));
  t.ok(bad.some((p) => /Uncaught ReferenceError: undefinedFunction/.test(p)), 'an uncaught error is detected');
  const emptied = join(f.dir, 'emptied.html');
  writeFileSync(emptied, html.replace(/(<figure class="chart" id="speedup">[\s\S]*?<svg[^>]*>)[\s\S]*?(<\/svg>)/, '$1$2').replace('</body>', `${PROBE}</body>`));
  t.ok(chartProblems(chromium(`file://${emptied}`, ['--dump-dom'])).some((p) => p === 'speedup: nothing drawn'), 'an empty chart is detected');
  const fetching = join(f.dir, 'fetching.html');
  writeFileSync(fetching, html.replace('</body>', `<img src="https://cdn.example.com/x.png">${PROBE}</body>`).replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ''));
  t.ok(chartProblems(chromium(`file://${fetching}`, ['--dump-dom'])).includes('network: https://cdn.example.com/x.png'), 'a network fetch is detected');
});

t.test('screenshots: the charts are visible in light and dark mode', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed` }, async (t) => {
  const f = passingFixture();
  const html = renderHtml(buildSummary(f.outcome, { environment: fakeEnvironment() }));
  const file = join(f.dir, 'report.html');
  writeFileSync(file, html);
  const shot = join(f.dir, 'report.png');
  const run = chromium(`file://${file}`, ['--window-size=1280,1800', `--screenshot=${shot}`]);
  t.equal(run.status, 0);
  t.same(run.consoleLines, []);
  const img = decodePng(readFileSync(shot));
  t.same([img.width, img.height], [1280, 1800]);
  t.ok(distinctColours(img) > 200, `not blank (${distinctColours(img)} colours)`);
  t.ok(countNear(img, [26, 127, 55]) > 2000, 'green speedup bars and PASS badges');
  t.ok(countNear(img, [15, 148, 136]) > 2000, 'teal PegaFlow hit bars');
  t.ok(countNear(img, [37, 99, 235], 20) > 300, 'blue connector lines');
  t.comment(`screenshot: ${shot}`);

  const probed = join(f.dir, 'report.probed.html');
  writeFileSync(probed, html.replace('</body>', `${PROBE}</body>`));
  const light = /data-bg="([^"]*)"/.exec(chromium(`file://${probed}`, ['--dump-dom']).dom)?.[1];
  const dark = /data-bg="([^"]*)"/.exec(chromium(`file://${probed}`, ['--dump-dom', '--force-dark-mode', '--blink-settings=preferredColorScheme=0']).dom)?.[1];
  t.equal(light, 'rgb(246, 247, 249)', 'light background');
  t.equal(dark, 'rgb(13, 17, 23)', 'dark background when the system prefers dark');
  const darkShot = join(f.dir, 'report-dark.png');
  chromium(`file://${file}`, ['--window-size=1280,1800', `--screenshot=${darkShot}`, '--force-dark-mode', '--blink-settings=preferredColorScheme=0']);
  const dimg = decodePng(readFileSync(darkShot));
  t.ok(countNear(dimg, [13, 17, 23], 4) > 100000, 'dark page');
  t.ok(countNear(dimg, [45, 212, 191]) > 2000, 'bright teal bars on dark');
  t.comment(`dark screenshot: ${darkShot}`);
});
