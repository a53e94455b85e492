import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadShareGpt, parseShareGpt, selectConversations, turnRequests, type Conversation } from '../../src/workloads/datasets/sharegpt.ts';
import { generateSample } from '../../datasets/sharegpt/generate.ts';

const SAMPLE = join(process.cwd(), 'datasets/sharegpt/sharegpt_sample.json');

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

const raw = [
  { id: 'a', conversations: [{ from: 'system', value: 'be brief' }, { from: 'human', value: 'q1' }, { from: 'gpt', value: 'a1' }, { from: 'human', value: 'q2' }, { from: 'bing', value: 'a2' }, { from: 'human', value: 'q3' }, { from: 'chatgpt', value: 'a3' }] },
  { id: 'b', conversations: [{ from: 'human', value: 'hi' }, { from: 'gpt', value: '' }, { from: 'gpt', value: 'hello' }] },
  { id: 'c', conversations: [{ from: 'human', value: 'x' }, { from: 'gpt', value: 'y' }, { from: 'gpt', value: 'z' }, { from: 'human', value: 'lost' }] },
];
const openai = [
  { id: 'a', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }, { role: 'assistant', content: 'a2' }, { role: 'user', content: 'q3' }, { role: 'assistant', content: 'a3' }] },
  { id: 'b', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '   ' }, { role: 'assistant', content: 'hello' }] },
  { id: 'c', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }, { role: 'assistant', content: 'z' }, { role: 'user', content: 'lost' }] },
];

t.test('the raw ShareGPT and OpenAI-messages forms normalise to the same conversations', async (t) => {
  const r = parseShareGpt(raw, 'raw.json');
  t.same(parseShareGpt(openai, 'openai.json').conversations, r.conversations);
  t.equal(r.skipped, 0);
  t.same(r.conversations[0]!.messages.map((m) => m.role), ['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant'], 'human→user, gpt/bing/chatgpt→assistant, system→system');
  t.same(r.conversations[1]!.messages, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], 'empty turns are dropped');
  t.same(r.conversations[2]!.messages.map((m) => m.content), ['x', 'y'], 'cut at the first break of alternation');
});

t.test('malformed conversations are skipped and counted; a file with nothing usable is an error', async (t) => {
  const entries = [
    raw[0],
    { id: 'no-user', conversations: [{ from: 'gpt', value: 'I start' }, { from: 'human', value: 'too late' }] },
    { id: 'only-system', messages: [{ role: 'system', content: 'rules' }] },
    { id: 'no-turns' },
    'not an object',
    { id: 'empty', conversations: [{ from: 'human', value: '' }] },
  ];
  const r = parseShareGpt(entries, 'mixed.json');
  t.same(r.conversations.map((c: Conversation) => c.id), ['a']);
  t.equal(r.skipped, 5);
  t.match(errorMessage(() => parseShareGpt({ conversations: [] }, 'top.json')), /^top\.json: the top level is an object with key "conversations"; expected a JSON array of conversations/);
  t.match(errorMessage(() => parseShareGpt(entries.slice(1), 'none.json')), /^none\.json: no usable conversation among 5 entries/);

  const dir = mkdtempSync(join(tmpdir(), 'kvgate-sharegpt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '[{');
  let parseMessage = '';
  try {
    JSON.parse('[{');
  } catch (err) {
    parseMessage = (err as Error).message;
  }
  t.ok(parseMessage.length > 0);
  t.match(errorMessage(() => loadShareGpt(bad)), /bad\.json: ShareGPT dataset \(--dataset\) is not valid JSON: at line 1/);
});

t.test('selection is a seeded shuffle, with an error naming the file when it has too few conversations', async (t) => {
  const { conversations, skipped } = loadShareGpt(SAMPLE);
  t.equal(conversations.length, 120);
  t.equal(skipped, 0);
  const ids = (seed: number, n = 10) => selectConversations(conversations, { numConversations: n, seed }).map((c) => c.id);
  t.same(ids(0), ids(0), 'same seed, same choice');
  t.notSame(ids(0), ids(1), 'another seed, another choice');
  t.equal(new Set(ids(0, 120)).size, 120, 'a shuffle, no repeats');
  t.equal(
    errorMessage(() => selectConversations(conversations.slice(0, 3), { numConversations: 5, seed: 0, file: 'f.json' })),
    'only 3 usable conversations in f.json, asked for 5 (--num-conversations)',
  );
});

t.test('each user turn sends everything up to it, with the dataset\'s assistant turns as history', async (t) => {
  const conv = parseShareGpt(raw, 'raw.json').conversations[0]!;
  const turns = turnRequests(conv, 10);
  t.same(turns.map((x) => x.turn), [1, 2, 3]);
  t.same(turns[0]!.messages.map((m) => m.content), ['be brief', 'q1']);
  t.same(turns[2]!.messages.map((m) => m.content), ['be brief', 'q1', 'a1', 'q2', 'a2', 'q3']);
  t.ok(turns.every((x) => x.messages.at(-1)!.role === 'user'), 'every request ends with the user turn');
  t.same(turnRequests(conv, 2).map((x) => x.turn), [1, 2], 'maxTurns caps the turns');
});

t.test('the sample generator is deterministic and the shipped sample is its output', async (t) => {
  const a = generateSample();
  t.equal(generateSample(), a, 'byte-identical across calls');
  t.equal(readFileSync(SAMPLE, 'utf8'), a, 'shipped file = generator output');
  t.ok(statSync(SAMPLE).size < 1.5 * 1024 * 1024, 'under 1.5 MB');
  const entries = JSON.parse(a) as { id: string; conversations: { from: string; value: string }[] }[];
  t.equal(entries.length, 120);
  const speakers = new Set(entries.flatMap((e) => e.conversations.map((c) => c.from)));
  for (const s of ['human', 'gpt', 'system', 'chatgpt', 'bing']) t.ok(speakers.has(s), `uses speaker ${s}`);

  const dir = mkdtempSync(join(tmpdir(), 'kvgate-sharegpt-gen-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'sample.json');
  execFileSync(join(process.cwd(), 'datasets/sharegpt/generate.ts'), [out], { stdio: 'pipe' });
  t.equal(readFileSync(out, 'utf8'), a, 'the executable writes the same bytes to the path given');
});
