import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateLongDocRequests, loadPromptFile } from '../../src/workloads/datasets/long-doc.ts';
import { loadShareGpt, parseShareGpt, selectConversations, turnRequests } from '../../src/workloads/datasets/sharegpt.ts';
import { tokenize } from '../../src/sim/vllm/tokenizer.ts';
import { generateSample } from '../../datasets/sharegpt/generate.ts';
import { generateProblems } from '../../datasets/lm_eval/generate.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kvgate-ds-'));
const file = (name: string, body: string) => {
  const p = join(tmp, name);
  writeFileSync(p, body);
  return p;
};

t.test('long documents: seeded, of the target length, sharing no prefix, cycling over documents', async (t) => {
  const a = generateLongDocRequests({ numRequests: 6, numDocuments: 3, documentLength: 10_000, seed: 0 });
  t.same(a, generateLongDocRequests({ numRequests: 6, numDocuments: 3, documentLength: 10_000, seed: 0 }), 'same seed, same prompts');
  t.notSame(a[0]!.prompt, generateLongDocRequests({ numRequests: 1, numDocuments: 1, documentLength: 10_000, seed: 1 })[0]!.prompt);
  t.same(a.map((r) => r.documentIndex), [0, 1, 2, 0, 1, 2]);
  t.equal(a[3]!.prompt, a[0]!.prompt, 'request 3 repeats document 0');
  for (const r of a.slice(0, 3)) {
    const n = tokenize(r.prompt).length;
    t.ok(Math.abs(n - 10_000) / 10_000 < 0.01, `document ${r.documentIndex}: ${n} tokens on the simulated tokenizer`);
    t.equal(n, r.approxTokens, 'approxTokens is exact for the simulated tokenizer');
  }
  const first16 = a.slice(0, 3).map((r) => tokenize(r.prompt).slice(0, 16).join(','));
  t.equal(new Set(first16).size, 3, 'the first 16-token block differs between documents');
});

t.test('--data-file: strings or {prompt} objects; errors name the file, the index and what was expected', async (t) => {
  t.same(loadPromptFile(file('ok.json', JSON.stringify(['a', { prompt: 'b', extra: 1 }]))), ['a', 'b']);
  t.throws(() => loadPromptFile(join(tmp, 'missing.json')), /missing\.json: cannot read --data-file prompt file \(ENOENT/);
  t.throws(() => loadPromptFile(file('bad.json', '[1,')), /bad\.json: --data-file prompt file is not valid JSON/);
  t.throws(() => loadPromptFile(file('obj.json', '{"prompts": []}')), /obj\.json: the top level of --data-file prompt file is an object with key "prompts"; expected a JSON array of prompt strings or of \{"prompt": string\} objects/);
  t.throws(() => loadPromptFile(file('empty.json', '[]')), /empty\.json: the array is empty/);
  t.throws(() => loadPromptFile(file('item3.json', JSON.stringify(['a', 'b', 'c', { text: 'd' }]))), /item3\.json: item 3 \(line 1, column \d+\): expected a non-empty string or an object with a non-empty string "prompt"/);
});

const raw = [
  { id: 'a', conversations: [{ from: 'system', value: 'be brief' }, { from: 'human', value: 'q1' }, { from: 'gpt', value: 'a1' }, { from: 'human', value: 'q2' }, { from: 'chatgpt', value: 'a2' }] },
  { id: 'b', conversations: [{ from: 'gpt', value: 'starts with the model' }] },
  { id: 'c', conversations: [{ from: 'human', value: 'only' }, { from: 'human', value: 'twice' }] },
];
const openai = [
  { id: 'a', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }, { role: 'assistant', content: 'a2' }] },
  { id: 'b', messages: [{ role: 'assistant', content: 'starts with the model' }] },
  { id: 'c', messages: [{ role: 'user', content: 'only' }, { role: 'user', content: 'twice' }] },
];

t.test('ShareGPT: the raw and OpenAI forms normalise to the same conversations; malformed ones are skipped and counted', async (t) => {
  const r = parseShareGpt(raw, 'raw.json');
  const o = parseShareGpt(openai, 'openai.json');
  t.same(r.conversations, o.conversations);
  t.equal(r.skipped, o.skipped);
  t.equal(r.skipped, 1, 'the conversation without a user turn');
  t.same(r.conversations.map((c) => c.id), ['a', 'c']);
  t.same(r.conversations[1]!.messages, [{ role: 'user', content: 'only' }], 'cut at the first break of alternation');
  t.throws(() => parseShareGpt({ conversations: [] }, 'x.json'), /x\.json: the top level is an object with key \"conversations\"; expected a JSON array of conversations/);
  t.throws(() => parseShareGpt([{ id: 1 }], 'y.json'), /y\.json: no usable conversation among 1 entries/);
  t.throws(() => loadShareGpt(file('nj.json', '[{')), /nj\.json: ShareGPT dataset \(--dataset\) is not valid JSON/);
});

t.test('ShareGPT: each turn sends the dataset history up to that user turn', async (t) => {
  const conv = parseShareGpt(raw, 'raw.json').conversations[0]!;
  const turns = turnRequests(conv, 5);
  t.equal(turns.length, 2);
  t.same(turns[1]!.messages.map((m) => m.content), ['be brief', 'q1', 'a1', 'q2'], 'history is the dataset\'s own assistant turn');
  t.equal(turnRequests(conv, 1).length, 1, 'max-turns caps it');
});

t.test('ShareGPT: seeded selection, with a clear error when the file has too few conversations', async (t) => {
  const { conversations } = loadShareGpt(join(process.cwd(), 'datasets/sharegpt/sharegpt_sample.json'));
  t.ok(conversations.length >= 100);
  const a = selectConversations(conversations, { numConversations: 10, seed: 0 });
  t.same(a.map((c) => c.id), selectConversations(conversations, { numConversations: 10, seed: 0 }).map((c) => c.id));
  t.notSame(a.map((c) => c.id), selectConversations(conversations, { numConversations: 10, seed: 1 }).map((c) => c.id));
  t.throws(() => selectConversations(conversations.slice(0, 3), { numConversations: 5, seed: 0, file: 'f.json' }), /only 3 usable conversations in f\.json, asked for 5/);
});

t.test('shipped datasets are exactly what their generators produce', async (t) => {
  t.equal(readFileSync(join(process.cwd(), 'datasets/sharegpt/sharegpt_sample.json'), 'utf8'), generateSample());
  t.equal(generateSample(), generateSample(), 'byte-identical across runs');
  const jsonl = generateProblems().map((p) => JSON.stringify(p)).join('\n') + '\n';
  t.equal(readFileSync(join(process.cwd(), 'datasets/lm_eval/gsm8k_mini.jsonl'), 'utf8'), jsonl);
  t.ok(generateProblems().every((p) => /\n#### -?\d+$/.test(p.answer)), 'every answer ends like GSM8K\'s');
});
