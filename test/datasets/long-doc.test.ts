import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentHeader, generateLongDocRequests, loadPromptFile } from '../../src/workloads/datasets/long-doc.ts';
import { countTokens } from '../../src/sim/vllm/tokenizer.ts';

const QUESTION = /\n\nQuestion: What is document (\d+) about\? Answer in one sentence\.\nAnswer:$/;
const documentOf = (prompt: string) => prompt.replace(QUESTION, '');
/** The message of the error `fn` throws (exact comparisons; t.throws matches substrings). */
function errorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`threw a non-Error: ${String(err)}`);
    return err.message;
  }
  return '(did not throw)';
}

t.test('the same options generate the same requests; another seed generates other documents', async (t) => {
  const opts = { numRequests: 4, numDocuments: 4, documentLength: 2_000, seed: 0 };
  const a = generateLongDocRequests(opts);
  t.same(generateLongDocRequests(opts), a, 'same seed, same requests');
  const b = generateLongDocRequests({ ...opts, seed: 1 });
  for (let i = 0; i < a.length; i++) t.not(b[i]!.prompt, a[i]!.prompt, `document ${i} differs with seed 1`);
});

t.test('documents have their own header, the question and no two share their first 16 words', async (t) => {
  const reqs = generateLongDocRequests({ numRequests: 50, numDocuments: 50, documentLength: 1_000, seed: 0 });
  t.ok(reqs[7]!.prompt.startsWith(`${documentHeader(7, 0)} `), 'the document opens with its own header');
  t.match(documentHeader(7, 0), /^[a-z]+ 7:$/, 'the header is a word chosen by index, then the index');
  t.not(documentHeader(7, 0), documentHeader(7, 1), 'another seed, another header word');
  t.equal(QUESTION.exec(reqs[7]!.prompt)?.[1], '7', 'the question names the document');
  const heads = reqs.map((r) => r.prompt.split(' ').slice(0, 16).join(' '));
  t.equal(new Set(heads).size, 50, 'fifty distinct 16-word prefixes');
  const body = documentOf(reqs[0]!.prompt).split(' ').slice(2);
  t.ok(body.every((w) => /^[a-z]+$/.test(w)), 'the body is lowercase words separated by single spaces');
});

t.test('documents are of the target length by word count and by the simulated tokenizer', async (t) => {
  const target = 10_000;
  const reqs = generateLongDocRequests({ numRequests: 3, numDocuments: 3, documentLength: target, seed: 3 });
  for (const r of reqs) {
    const doc = documentOf(r.prompt);
    const words = doc.split(' ').length;
    t.ok(Math.abs(words - target) / target <= 0.03, `document ${r.documentIndex}: ${words} words`);
    const tokens = countTokens(doc);
    t.ok(Math.abs(tokens - target) / target <= 0.03, `document ${r.documentIndex}: ${tokens} tokens`);
    t.equal(r.approxTokens, countTokens(r.prompt), 'approxTokens counts words and punctuation pieces of the whole prompt');
  }
});

t.test('request i uses document i mod numDocuments, with the same prompt each time', async (t) => {
  const reqs = generateLongDocRequests({ numRequests: 7, numDocuments: 3, documentLength: 500, seed: 0 });
  t.same(reqs.map((r) => r.documentIndex), [0, 1, 2, 0, 1, 2, 0]);
  t.equal(new Set(reqs.map((r) => r.id)).size, 7, 'ids are unique');
  t.equal(reqs[3]!.prompt, reqs[0]!.prompt);
  t.equal(reqs[6]!.prompt, reqs[0]!.prompt);
  t.not(reqs[1]!.prompt, reqs[0]!.prompt);
});

t.test('fifty 10 000-word documents generate in well under a second', async (t) => {
  const start = performance.now();
  const reqs = generateLongDocRequests({ numRequests: 100, numDocuments: 50, documentLength: 10_000, seed: 0 });
  const ms = performance.now() - start;
  t.equal(reqs.length, 100);
  t.ok(ms < 1_000, `took ${ms.toFixed(0)} ms`);
});

t.test('--data-file: strings or {prompt} objects; errors name the file, the index and what was expected', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kvgate-longdoc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  t.same(loadPromptFile(write('ok.json', JSON.stringify(['a', { prompt: 'b' }]))), ['a', 'b']);

  const missing = join(dir, 'missing.json');
  t.match(errorMessage(() => loadPromptFile(missing)), /missing\.json: cannot read --data-file prompt file \(ENOENT/);

  const bad = write('bad.json', '[1,');
  let parseMessage = '';
  try {
    JSON.parse('[1,');
  } catch (err) {
    parseMessage = (err as Error).message;
  }
  t.ok(parseMessage.length > 0);
  t.match(errorMessage(() => loadPromptFile(bad)), /bad\.json: --data-file prompt file is not valid JSON: at line 1, column 4/);

  const item3 = write('prompts.json', JSON.stringify(['a', 'b', { prompt: 'c' }, { text: 'd' }]));
  t.match(errorMessage(() => loadPromptFile(item3)), /prompts\.json: item 3 \(line 1, column \d+\): expected a non-empty string or an object with a non-empty string "prompt"/);

  const empty = write('empty.json', '[]');
  t.match(errorMessage(() => loadPromptFile(empty)), /empty\.json: the array is empty; expected at least one prompt/);
});
