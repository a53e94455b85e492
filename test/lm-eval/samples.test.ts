import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyConsistency, compareSamples, describeComparison, findSamplesFile, firstDifference, parseSamples, renderDiff, scoresOf, type Sample } from '../../src/analysis/lm-eval-samples.ts';
import { buildLmEvalArgs } from '../../src/workloads/lm-eval/driver.ts';

const s = (doc_id: number, text: string, filter = 'strict-match', em = 0): Sample => ({ doc_id, filter, resps: [[text]], filtered_resps: [text.slice(-2)], exact_match: em });

t.test('runs are compared per (doc_id, filter), whatever the line order', async (t) => {
  const a = [s(0, 'x 12'), s(1, 'y 34'), s(0, 'x 12', 'flexible-extract')];
  const b = [s(0, 'x 12', 'flexible-extract'), s(1, 'y 34'), s(0, 'x 12')];
  const c = compareSamples(a, b);
  t.same(c.differences, []);
  t.equal(describeComparison(c), 'run 1 and run 2 identical in all 2 docs');
});

t.test('differences name the docs and the first differing character', async (t) => {
  const a = [s(0, 'same'), s(17, 'The answer is 12'), s(42, 'abc'), s(43, 'z')];
  const b = [s(0, 'same'), s(17, 'The answer is 13'), s(42, 'abd'), s(43, 'z')];
  const c = compareSamples(a, b);
  t.same(c.differingDocIds, [17, 42]);
  t.equal(describeComparison(c), 'run 1 vs run 2: samples differ in 2/4 docs: 17, 42');
  t.equal(c.differences.find((d) => d.docId === 17)!.offset, 15);
  const diff = renderDiff([c]);
  t.match(diff, /--- doc 17 \(filter strict-match\), first difference at character 15/);
  t.match(diff, /run 1: "The answer is 12"/);
  t.equal(firstDifference('abc', 'abc'), -1);
  t.equal(firstDifference('ab', 'abc'), 2);
});

t.test('docs present in one run only are a difference', async (t) => {
  const c = compareSamples([s(0, 'a'), s(1, 'b')], [s(0, 'a')]);
  t.same(c.onlyInA, ['1 / strict-match']);
  t.match(describeComparison(c), /1 samples present in one run only/);
});

t.test('full mode: connector vs itself, baseline vs itself, connector vs baseline', async (t) => {
  const same = compareSamples([s(0, 'a')], [s(0, 'a')]);
  const diff = compareSamples([s(0, 'a'), s(3, 'q')], [s(0, 'b'), s(3, 'q')], 'connector', 'baseline');
  t.equal(classifyConsistency(same).status, 'pass');
  t.equal(classifyConsistency(diff).status, 'fail', 'connector differs from itself');
  t.same(classifyConsistency(same, diff, same), { status: 'inconclusive', reason: 'inconclusive: engine nondeterminism (1 docs differ between two baseline runs)' });
  const v = classifyConsistency(same, same, diff);
  t.equal(v.status, 'fail', 'baseline agrees with itself but not with the connector');
  t.match(v.reason, /connector vs baseline: samples differ in 1\/2 docs: 0/);
});

t.test('samples files are found recursively; none or several is a clear error; bad lines name file and line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvgate-lm-'));
  mkdirSync(join(dir, 'm__x', 'nested'), { recursive: true });
  const f = join(dir, 'm__x', 'nested', 'samples_kvgate_gsm8k_mini_2026-01-01T00-00-00.jsonl');
  writeFileSync(f, JSON.stringify(s(0, 'a', 'strict-match', 1)) + '\n' + JSON.stringify(s(1, 'b')) + '\n');
  t.equal(findSamplesFile(dir, 'kvgate_gsm8k_mini'), f);
  t.same(scoresOf(parseSamples(f)), { 'exact_match,strict-match': 0.5 });
  t.throws(() => findSamplesFile(dir, 'gsm8k'), /no samples_gsm8k_\*\.jsonl under/);
  writeFileSync(join(dir, 'samples_kvgate_gsm8k_mini_2.jsonl'), '');
  t.throws(() => findSamplesFile(dir, 'kvgate_gsm8k_mini'), /2 samples files for kvgate_gsm8k_mini/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, JSON.stringify(s(0, 'a')) + '\n{oops\n');
  t.throws(() => parseSamples(bad), /bad\.jsonl:2: not valid JSON/);
  writeFileSync(bad, '{"doc_id": 0}\n');
  t.throws(() => parseSamples(bad), /bad\.jsonl:1: expected an lm_eval sample/);
});

t.test('lm_eval is called with the bash suite\'s arguments (plus an offline tokenizer setting)', async (t) => {
  t.same(buildLmEvalArgs({ servedModelName: 'Qwen/Qwen3-8B', baseUrl: 'http://127.0.0.1:8000/v1/completions', task: 'gsm8k', includePath: undefined, limit: 100, concurrent: 10, seed: 0, outputPath: '/r/lm_eval/first_run' }), [
    '--model', 'local-completions',
    '--tasks', 'gsm8k',
    '--model_args', 'model=Qwen/Qwen3-8B,base_url=http://127.0.0.1:8000/v1/completions,num_concurrent=10,max_retries=3,tokenized_requests=False,tokenizer_backend=None',
    '--limit', '100',
    '--seed', '0',
    '-s',
    '--output_path', '/r/lm_eval/first_run',
    '--gen_kwargs', '{"temperature": 0.0}',
  ]);
});
