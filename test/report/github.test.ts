import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { escapeData, escapeProperty, unescapeCommandValue, workflowCommand } from '../../src/report/github.ts';
import { defaultReporters } from '../../src/report/index.ts';
import { drive, fakeProbe, MemoryStream } from './fixtures/drive.ts';
import { faultyFixture, passingFixture } from './fixtures/outcomes.ts';

function ghEnv(summaryFile: string): NodeJS.ProcessEnv {
  return {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/kvgate',
    GITHUB_RUN_ID: '4242',
    KVGATE_ARTIFACT_NAME: 'kvgate-results-gpu-quick-1',
    PATH: '/usr/bin:/bin',
  };
}

/** ::error / ::warning lines, decoded: { command, title, message }. */
function annotations(text: string): { command: string; title: string; message: string }[] {
  const out: { command: string; title: string; message: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^::(error|warning) title=([^:]*)::(.*)$/.exec(line);
    if (m) out.push({ command: m[1]!, title: unescapeCommandValue(m[2]!), message: unescapeCommandValue(m[3]!) });
  }
  return out;
}

t.test('workflow-command escaping: data escapes %, CR, LF; properties also : and ,', async (t) => {
  t.equal(escapeData('50% done\r\nnext'), '50%25 done%0D%0Anext');
  t.equal(escapeProperty('long-doc-qa: warm TTFT, mean'), 'long-doc-qa%3A warm TTFT%2C mean');
  t.equal(workflowCommand('error', { title: 'a: b' }, 'x\ny'), '::error title=a%3A b::x%0Ay');
  const nasty = 'a%b:c,d\r\n::e';
  t.equal(unescapeCommandValue(escapeProperty(nasty)), nasty, 'round trip');
});

t.test('with GITHUB_ACTIONS=true a faulty run prints ::error per failed criterion and appends the step summary', async (t) => {
  const f = faultyFixture();
  const summaryFile = join(mkdtempSync(join(tmpdir(), 'kvgate-gh-')), 'step-summary.md');
  writeFileSync(summaryFile, '# earlier step content\n');
  const out = new MemoryStream(false);
  const errors = await drive(defaultReporters(f.cfg, { printConfig: false, env: ghEnv(summaryFile), out, capture: { probe: fakeProbe } }), f.outcome);
  t.same(errors, [], 'no reporter failed');

  const ann = annotations(out.text);
  const errs = ann.filter((a) => a.command === 'error');
  for (const test of f.outcome.tests) {
    for (const c of test.criteria.filter((c) => c.status === 'fail')) {
      const hit = errs.filter((e) => e.title === `${test.name}: ${c.title}`);
      t.equal(hit.length, 1, `::error for ${test.name}: ${c.title}`);
      t.notMatch(hit[0]?.message ?? '', /\n/, 'reason on one line');
    }
  }
  t.ok(errs.some((e) => e.title === 'share-gpt-multi-turn: error' && /SIGSEGV/.test(e.message)), '::error for the error test');
  t.ok(errs.some((e) => e.title === 'lm-eval-consistency: interrupted'), '::error for the interrupted test');
  const warns = ann.filter((a) => a.command === 'warning');
  t.ok(warns.some((w) => w.title === 'long-doc-qa: cache path exercised' && w.message.startsWith('inconclusive: ')), '::warning for an inconclusive criterion');
  t.ok(warns.some((w) => w.message === 'warning with <html> & 50% chars'), '::warning for a run warning, % escaped and decoded');
  const kinds = out.text.split('\n').filter((l) => /^::(error|warning) /.test(l)).map((l) => l.slice(2, l.indexOf(' ')));
  t.same(kinds, [...kinds].sort(), 'errors first (GitHub keeps only 10 of each per step)');
  // Everything printed during the run is inside a stop-commands block.
  const stop = /^::stop-commands::(\S+)$/m.exec(out.text);
  t.ok(stop && out.text.indexOf(stop[0]) < out.text.indexOf('starting pegaflow-server'), 'commands are off before the run prints');
  t.ok(stop && out.text.indexOf(`::${stop[1]}::`) < out.text.search(/^::error /m), 'and on again before the annotations');
  const between = stop ? out.text.slice(out.text.indexOf(stop[0]), out.text.indexOf(`::${stop[1]}::`)) : '';
  t.match(between, /::warning::fake/, 'a command-like line from a server log was printed while commands were off');

  // Server logs are folded, and workflow commands inside them are switched off.
  const groups = out.text.split('\n').filter((l) => l.startsWith('::group::'));
  t.equal(groups.length, 4, 'one group per server log plus the error detail');
  const vllmGroup = out.text.slice(out.text.indexOf('::group::vllm-pegaflow log'));
  const token = /::stop-commands::(\S+)/.exec(vllmGroup)?.[1];
  t.ok(token, 'commands stopped inside the group');
  const inside = vllmGroup.slice(0, vllmGroup.indexOf(`::${token}::`));
  t.match(inside, /::error::not a real annotation/, 'the log line is shown…');
  t.ok(vllmGroup.indexOf('::endgroup::') > vllmGroup.indexOf(`::${token}::`), '…and commands resume before the group ends');
  t.notMatch(out.text, /\x1b\[/, 'no ANSI codes in the CI log');

  const md = readFileSync(summaryFile, 'utf8');
  t.ok(md.startsWith('# earlier step content\n'), 'appended, not overwritten');
  t.match(md, /## ❌ kvgate FAILED/);
  t.match(md, /\| test \| status \| duration \| TTFT cold \| TTFT warm \| TTFT baseline \| speedup \| PegaFlow hits \| failed \|/, 'the terminal summary table');
  t.match(md, /\| ✘ fail \| warm TTFT \(mean\) &lt;= 0\.22 s \|/, 'criteria with escaped text');
  t.match(md, /kvgate-results-gpu-quick-1/, 'artefact name');
  t.match(md, /https:\/\/github\.com\/acme\/kvgate\/actions\/runs\/4242#artifacts/, 'link to the run’s artefacts');
  t.match(md, /`results\/run-1\/report\.html`/, 'artefact paths relative to the checkout');
  t.notMatch(md, /<b>"quoted"<\/b>/, 'markup from reasons is escaped');
});

t.test('a passing run prints no ::error and no log groups', async (t) => {
  const f = passingFixture();
  const summaryFile = join(mkdtempSync(join(tmpdir(), 'kvgate-gh-')), 'step-summary.md');
  const out = new MemoryStream(false);
  await drive(defaultReporters(f.cfg, { printConfig: false, env: ghEnv(summaryFile), out, capture: { probe: fakeProbe } }), f.outcome);
  t.notMatch(out.text, /^::error/m);
  t.notMatch(out.text, /^::group::/m);
  t.match(readFileSync(summaryFile, 'utf8'), /## ✅ kvgate PASSED — all 3 tests passed/);
});

t.test('without GITHUB_ACTIONS nothing GitHub-specific is printed or written', async (t) => {
  const f = faultyFixture();
  const summaryFile = join(mkdtempSync(join(tmpdir(), 'kvgate-gh-')), 'step-summary.md');
  const env = { ...ghEnv(summaryFile), GITHUB_ACTIONS: undefined };
  const out = new MemoryStream(false);
  const reporters = defaultReporters(f.cfg, { printConfig: false, env, out, capture: { probe: fakeProbe } });
  t.notOk(reporters.some((r) => r.name === 'github'));
  await drive(reporters, f.outcome);
  t.notMatch(out.text, /^::(error|warning|group)/m);
  t.notOk(existsSync(summaryFile));
});
