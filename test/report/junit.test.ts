import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { JunitReporter, renderJunit } from '../../src/report/junit.ts';
import { SummarySource } from '../../src/report/source.ts';
import { buildSummary } from '../../src/report/summary.ts';
import { drive } from './fixtures/drive.ts';
import { faultyFixture, fakeEnvironment, NASTY, passingFixture } from './fixtures/outcomes.ts';
import { findAll, parseXml, XmlError, type XmlElement } from './fixtures/xml.ts';

// The Jenkins junit-10 XSD (the schema Buildkite Test Engine and the GitHub
// reporters accept), as element → allowed attributes / children / required attributes.
const SCHEMA: Record<string, { attrs: string[]; required?: string[]; children: string[] }> = {
  testsuites: { attrs: ['name', 'time', 'tests', 'failures', 'errors'], children: ['testsuite'] },
  testsuite: {
    attrs: ['name', 'tests', 'failures', 'errors', 'group', 'time', 'skipped', 'timestamp', 'hostname', 'id', 'package', 'file', 'log', 'url'],
    required: ['name', 'tests', 'failures', 'errors'],
    children: ['testsuite', 'properties', 'testcase', 'system-out', 'system-err'],
  },
  properties: { attrs: [], children: ['property'] },
  property: { attrs: ['name', 'value'], required: ['name', 'value'], children: [] },
  testcase: { attrs: ['name', 'time', 'classname', 'group'], required: ['name'], children: ['skipped', 'error', 'failure', 'system-out', 'system-err'] },
  failure: { attrs: ['type', 'message'], children: [] },
  error: { attrs: ['type', 'message'], children: [] },
  skipped: { attrs: ['type', 'message'], children: [] },
  'system-out': { attrs: [], children: [] },
  'system-err': { attrs: [], children: [] },
};
const SUREFIRE_TIME = /^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$/;

function schemaProblems(el: XmlElement, path = ''): string[] {
  const here = `${path}/${el.name}`;
  const rule = SCHEMA[el.name];
  if (!rule) return [`${here}: element not in the schema`];
  const out: string[] = [];
  for (const a of Object.keys(el.attrs)) if (!rule.attrs.includes(a)) out.push(`${here}: attribute ${a} not allowed`);
  for (const a of rule.required ?? []) if (!(a in el.attrs)) out.push(`${here}: attribute ${a} required`);
  if ('time' in el.attrs && !SUREFIRE_TIME.test(el.attrs['time']!)) out.push(`${here}: time "${el.attrs['time']}" does not match the schema's pattern`);
  for (const c of el.children) {
    if (!rule.children.includes(c.name)) out.push(`${here}: child <${c.name}> not allowed`);
    else out.push(...schemaProblems(c, here));
  }
  return out;
}

function junitOf(fixture: ReturnType<typeof faultyFixture>): XmlElement {
  return parseXml(renderJunit(buildSummary(fixture.outcome, { environment: fakeEnvironment() })));
}

t.test('the well-formedness check itself rejects broken XML', async (t) => {
  t.throws(() => parseXml('<a><b></a></b>'), XmlError);
  t.throws(() => parseXml('<a x="1" x="2"/>'), XmlError);
  t.throws(() => parseXml('<a>1 < 2</a>'), XmlError);
  t.throws(() => parseXml('<a>AT&T</a>'), XmlError);
  t.throws(() => parseXml('<a>\x1b[31m</a>'), XmlError);
  t.throws(() => parseXml('<a/><b/>'), XmlError);
  t.same(parseXml('<a x="&lt;&#10;">t&amp;</a>'), { name: 'a', attrs: { x: '<\n' }, children: [], text: 't&' });
});

t.test('junit.xml of a faulty run is well-formed and fits the junit schema', async (t) => {
  const f = faultyFixture();
  const errors = await drive([new JunitReporter(new SummarySource())], f.outcome);
  t.same(errors, []);
  const xml = readFileSync(join(f.dir, 'junit.xml'), 'utf8');
  t.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
  const root = parseXml(xml);
  t.equal(root.name, 'testsuites');
  t.same(schemaProblems(root), [], 'only elements and attributes of the junit-10 XSD');
  const suites = findAll(root, 'testsuite');
  t.equal(suites.length, 1, 'one testsuite per run');
  const suite = suites[0]!;
  t.match(suite.attrs['timestamp'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'ISO timestamp as the Ant XSD wants it');
  t.equal(suite.attrs['timestamp'], '2026-11-22T10:00:00');
  t.equal(suite.attrs['time'], '261.000', 'run time in seconds');
  const cases = findAll(root, 'testcase');
  const count = (n: string) => cases.filter((c) => c.children.some((x) => x.name === n)).length;
  t.equal(suite.attrs['tests'], String(cases.length), 'tests = testcases');
  t.equal(suite.attrs['failures'], String(count('failure')));
  t.equal(suite.attrs['errors'], String(count('error')));
  t.equal(suite.attrs['skipped'], String(count('skipped')));
  t.equal(root.attrs['tests'], suite.attrs['tests']);
});

t.test('one testcase per test and per criterion, with the one-line reason as message', async (t) => {
  const f = faultyFixture();
  const root = junitOf(f);
  const cases = findAll(root, 'testcase');
  const totalCriteria = f.outcome.tests.reduce((n, x) => n + x.criteria.length, 0);
  t.equal(cases.length, f.outcome.tests.length + totalCriteria);

  const failedCriteria = f.outcome.tests.flatMap((x) => x.criteria.filter((c) => c.status === 'fail').map((c) => ({ test: x.name, c })));
  t.equal(failedCriteria.length, 2);
  for (const { test, c } of failedCriteria) {
    const tc = cases.filter((x) => x.attrs['classname'] === test && x.attrs['name'] === c.title);
    t.equal(tc.length, 1, `one testcase for "${c.title}"`);
    const failure = tc[0]!.children.find((x) => x.name === 'failure');
    t.ok(failure, `"${c.title}" fails`);
    t.equal(failure?.attrs['type'], 'criterion');
    t.notMatch(failure?.attrs['message'] ?? '', /\n/, 'message is one line');
  }
  const criterionFailures = cases.filter((x) => x.attrs['name'] !== x.attrs['classname'] && x.children.some((c) => c.name === 'failure'));
  t.equal(criterionFailures.length, failedCriteria.length, 'exactly one failing testcase per failed criterion');

  const passed = cases.find((x) => x.attrs['name'] === 'speedup >= 1.2x')!;
  t.notOk(passed.children.some((c) => ['failure', 'error', 'skipped'].includes(c.name)), 'a passed criterion has no failure');

  const skipped = cases.find((x) => x.attrs['name'] === 'server TTFT cross-check')!;
  t.equal(skipped.children[0]?.name, 'skipped');
  const inconclusive = cases.find((x) => x.attrs['name'] === 'cache path exercised')!;
  t.equal(inconclusive.children[0]?.name, 'skipped');
  t.match(inconclusive.children[0]?.attrs['message'], /^inconclusive: /);
});

t.test('test statuses map to failure / error / error type interrupted', async (t) => {
  const root = junitOf(faultyFixture());
  const byName = (n: string) => findAll(root, 'testcase').find((x) => x.attrs['classname'] === n && x.attrs['name'] === n)!;
  const longDoc = byName('long-doc-qa');
  t.equal(longDoc.children[0]?.name, 'failure');
  t.equal(longDoc.children[0]?.attrs['message'], 'warm TTFT 0.31 s > 0.22 s; 2/90 requests failed');
  t.equal(longDoc.attrs['time'], '180.000');
  const out = longDoc.children.find((c) => c.name === 'system-out')!;
  t.match(out.text, /ttft_warm_s: 0\.31/, 'key figures in system-out');
  t.match(out.text, /pass pegaflow_pass2 on vllm-pegaflow/);
  const share = byName('share-gpt-multi-turn');
  t.equal(share.children[0]?.name, 'error');
  t.equal(share.children[0]?.attrs['type'], 'error');
  t.match(share.children[0]?.text, /illegal memory access/, 'error detail in the body');
  t.notMatch(share.children[0]?.text ?? '', /\x1b/, 'no ANSI codes from the server log');
  const lm = byName('lm-eval-consistency');
  t.equal(lm.children[0]?.name, 'error');
  t.equal(lm.children[0]?.attrs['type'], 'interrupted');
});

t.test('inconclusive tests are skipped with a message; passing runs have no failures', async (t) => {
  const f = passingFixture();
  f.outcome.tests[0]!.status = 'inconclusive';
  f.outcome.tests[0]!.reason = 'engine nondeterministic: connector and baseline both vary';
  const root = junitOf(f);
  const suite = findAll(root, 'testsuite')[0]!;
  t.equal(suite.attrs['failures'], '0');
  t.equal(suite.attrs['errors'], '0');
  t.equal(suite.attrs['skipped'], '1');
  const lm = findAll(root, 'testcase').find((x) => x.attrs['name'] === 'lm-eval-consistency')!;
  t.same(lm.children[0], { name: 'skipped', attrs: { message: 'inconclusive: engine nondeterministic: connector and baseline both vary' }, children: [], text: '' });
});

t.test('reasons with markup, quotes, newlines, ANSI and control characters are escaped', async (t) => {
  const root = junitOf(faultyFixture());
  const tc = findAll(root, 'testcase').find((x) => x.attrs['name'] === 'warm TTFT (mean) <= 0.22 s')!;
  const msg = tc.children[0]!.attrs['message']!;
  t.match(msg, /TTFT 0\.31 s > 0\.22 s & <b>"quoted"<\/b> 'x' 100% done/, 'markup survives as text');
  t.notMatch(msg, /[\r\n\x1b\x07]/, 'one line, no control characters');
  t.equal(NASTY.includes('\x1b'), true);
  const props = findAll(root, 'property');
  t.ok(props.some((p) => p.attrs['name'] === 'vllm.version' && p.attrs['value'] === '0.12.0'), 'run facts as properties');
});
