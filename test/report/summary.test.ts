import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SummaryReporter } from '../../src/report/summary-reporter.ts';
import { EnvironmentCapture, SummarySource } from '../../src/report/source.ts';
import { buildSummary, readSummary, SummaryError, SUMMARY_SCHEMA_VERSION, validateSummary } from '../../src/report/summary.ts';
import { drive, fakeProbe } from './fixtures/drive.ts';
import { faultyFixture, fakeEnvironment, passingFixture } from './fixtures/outcomes.ts';

t.test('summary.json of a passing run validates and reads back equal to what was built', async (t) => {
  const { dir, outcome } = passingFixture();
  const source = new SummarySource({ capture: new EnvironmentCapture({ probe: fakeProbe }) });
  const errors = await drive([new SummaryReporter(source)], outcome);
  t.same(errors, [], 'the reporter did not fail');
  const read = readSummary(dir);
  t.equal(read.schemaVersion, SUMMARY_SCHEMA_VERSION);
  t.same(read, await source.get(outcome), 'round trip is lossless');
  t.equal(read.status, 'PASSED');
  t.equal(read.runId, 'run-1');
  t.equal(read.tests.length, 3);
  const longDoc = read.tests.find((x) => x.name === 'long-doc-qa')!;
  t.equal(longDoc.details?.passes.length, 3, 'per-pass records kept');
  t.equal(longDoc.details?.passes[1]?.evidence?.pegaflowHitBlocks, 8640, 'evidence deltas kept');
  t.equal(longDoc.details?.passes[1]?.ttftSamplesS.length, 30, 'TTFT samples kept for distributions');
  t.equal(read.tests.find((x) => x.name === 'share-gpt-multi-turn')?.details?.turns?.length, 6, 'turns kept');
  t.equal(read.tests.find((x) => x.name === 'lm-eval-consistency')?.details?.lmEval?.runs.length, 3, 'lm_eval details kept');
  t.equal(read.servers.length, 3);
  t.equal(read.servers[1]?.readyAfterS, 61.2, 'ready times kept');
  t.match(read.servers[1]?.commandLine, ['vllm', 'serve']);
  t.equal(read.environment?.gpus[0]?.name, 'NVIDIA H100 80GB HBM3', 'environment included');
  t.equal(read.config.model, 'Qwen/Qwen3-8B', 'config included');
  t.equal((read.config as Record<string, unknown>)['ports'] !== undefined, true, 'config fields beyond the checked ones are kept');
});

t.test('a faulty run keeps statuses, exit info and warnings; NaN becomes null and Infinity a string', async (t) => {
  const { dir, outcome } = faultyFixture();
  await drive([new SummaryReporter(new SummarySource())], outcome);
  const read = readSummary(dir);
  t.equal(read.status, 'FAILED');
  t.equal(read.exitCode, 3);
  t.equal(read.abortReason, outcome.abortReason);
  t.same(
    read.tests.map((x) => x.status),
    ['interrupted', 'fail', 'error'],
  );
  t.same(read.servers[1]?.exit, { code: null, signal: 'SIGSEGV' });
  t.equal(read.warnings.length, 2);
  const longDoc = read.tests[1]!;
  t.equal(longDoc.metrics['speedup_extreme'], 'Infinity', 'a metric JSON cannot hold is kept as text');
  t.equal(longDoc.details?.passes[1]?.meanInterTokenS, null, 'NaN figure is null');
  t.equal(read.tests[2]?.errorDetail?.includes('illegal memory access'), true);
});

t.test('a corrupted summary.json is rejected naming the file and the first issue', async (t) => {
  const { dir, outcome } = passingFixture();
  await drive([new SummaryReporter(new SummarySource())], outcome);
  const file = join(dir, 'summary.json');
  const good = JSON.parse(readFileSync(file, 'utf8'));

  const bad = structuredClone(good);
  bad.tests[1].status = 'passed';
  writeFileSync(file, JSON.stringify(bad));
  t.throws(() => readSummary(dir), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: invalid at tests\\[1\\]\\.status: `) });

  const missing = structuredClone(good);
  delete missing.tests[0].criteria;
  writeFileSync(file, JSON.stringify(missing));
  t.throws(() => readSummary(dir), { message: /invalid at tests\[0\]\.criteria/ });

  writeFileSync(file, JSON.stringify({ ...good, schemaVersion: 2 }));
  t.throws(() => readSummary(dir), { message: /schemaVersion 2 is not supported/ });

  writeFileSync(file, '{"schemaVersion": 1, ');
  t.throws(() => readSummary(dir), SummaryError);
  t.throws(() => readSummary(dir), { message: /summary\.json: not valid JSON/ });

  t.throws(() => readSummary(join(dir, 'nope')), { message: /nope\/summary\.json: no such file/ });
});

t.test('data that fails the schema is not written as summary.json but kept for debugging', async (t) => {
  const { dir, outcome } = passingFixture();
  (outcome.tests[0] as unknown as { status: string }).status = 'weird';
  const errors = await drive([new SummaryReporter(new SummarySource())], outcome);
  t.match(errors[0], /summary\.json not written .*invalid at tests\[0\]\.status/);
  t.equal(existsSync(join(dir, 'summary.json')), false);
  t.equal(existsSync(join(dir, 'summary.invalid.json')), true);
});

t.test('validateSummary accepts what buildSummary makes and rejects a wrong type deep inside', async (t) => {
  const { outcome } = passingFixture();
  const s = buildSummary(outcome, { environment: fakeEnvironment() });
  t.ok(validateSummary(JSON.parse(JSON.stringify(s)), 'x.json'));
  const broken = JSON.parse(JSON.stringify(s));
  broken.tests[1].details.passes[0].ttftSamplesS[3] = 'fast';
  t.throws(() => validateSummary(broken, 'x.json'), { message: /x\.json: invalid at tests\[1\]\.details\.passes\[0\]\.ttftSamplesS\[3\]/ });
});

t.test('the second-Ctrl-C path writes summary.json synchronously', async (t) => {
  const { dir, outcome } = faultyFixture();
  new SummaryReporter(new SummarySource()).onEndSync(outcome);
  t.equal(readSummary(dir).status, 'FAILED');
});
