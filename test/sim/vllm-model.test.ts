// The simulated model without a server: tokenizer, hash chain, output
// generation from KV digests, stop handling.
import t from 'tap';
import { applyChatTemplate } from '../../src/sim/vllm/chat-template.ts';
import { blockHashes, Generator, kvDigest, kvRoot } from '../../src/sim/vllm/model.ts';
import { OutputProcessor } from '../../src/sim/vllm/output-processor.ts';
import { countTokens, detokenize, EOS_TOKEN_ID, OUTPUT_PIECES, pieceId, pieces, tokenize, VOCAB_SIZE } from '../../src/sim/vllm/tokenizer.ts';

const MODEL = 'kvgate/sim-qwen3-8b';
const greedy = { temperature: 0, seed: 0, ignoreEos: true };

function digestsOf(tokens: number[], bs = 16, model = MODEL): Buffer[] {
  const out: Buffer[] = [];
  let prev = kvRoot(model);
  for (let s = 0; s + bs <= tokens.length; s += bs) {
    prev = kvDigest(prev, tokens, s, s + bs);
    out.push(prev);
  }
  return out;
}

function generate(model: string, digests: Buffer[], tail: number[], n: number, params = greedy): number[] {
  const g = new Generator(model, digests, tail, params);
  return Array.from({ length: n }, () => g.next());
}

t.test('tokenizer is deterministic, word-ish, and countTokens agrees with tokenize', async (t) => {
  const text = 'The KV cache holds 12345 tokens, doesn\'t it?\nYes: internationalization works.';
  t.same(tokenize(text), tokenize(text), 'same ids every time');
  t.same(pieces('The cache  holds 42.'), ['The', ' cache', '  holds', ' 4', '2', '.'], 'words keep their leading spaces; digits are one token each');
  t.same(pieces('<|im_start|>user\nhi<|im_end|>'), ['<|im_start|>', 'user', '\n', 'hi', '<|im_end|>'], 'ChatML markers are single tokens');
  t.same(pieces(' internationalization'), [' internat', 'ionali', 'zation'], 'long words are cut into chunks');
  t.equal(countTokens(text), tokenize(text).length);
  t.equal(countTokens(''), 0);
  for (const id of tokenize(text)) t.ok(id >= 0 && id < VOCAB_SIZE, `id ${id} inside the vocabulary`);
  const english = 'The quick brown fox jumps over the lazy dog and keeps running through the forest until night falls.';
  const ratio = countTokens(english) / english.split(/\s+/).length;
  t.ok(ratio >= 1 && ratio < 1.6, `about one to 1.5 tokens a word (got ${ratio.toFixed(2)})`);
});

t.test('every piece the model can say is one token and detokenizes back to itself', async (t) => {
  for (const p of new Set(OUTPUT_PIECES)) {
    t.same(pieces(p), [p], `${JSON.stringify(p)} is one piece`);
    t.equal(detokenize([pieceId(p)]), p);
  }
  t.equal(detokenize([EOS_TOKEN_ID]), '', 'the end-of-sequence token has no text');
});

t.test('the chat template is ChatML with a generation prompt', async (t) => {
  const text = applyChatTemplate([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
  ]);
  t.equal(text, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  t.throws(() => applyChatTemplate([]), /non-empty/);
  t.throws(() => applyChatTemplate([{ role: 'user', content: [{ type: 'image_url' }] }]), /text/);
});

t.test('block hashes chain: a change in one block changes that hash and every later one', async (t) => {
  const tokens = tokenize('one two three four five six seven eight nine ten '.repeat(8));
  const a = blockHashes(MODEL, tokens, 16);
  t.equal(a.length, Math.floor(tokens.length / 16), 'one hash per full block');
  t.ok(a.every((h) => h.length === 32), 'sha256, 32 bytes');
  t.same(blockHashes(MODEL, tokens, 16), a, 'deterministic');
  const changed = [...tokens];
  changed[40] = changed[40]! + 1; // inside block 2
  const b = blockHashes(MODEL, changed, 16);
  t.same(b.slice(0, 2), a.slice(0, 2), 'blocks before the change keep their hashes');
  for (let i = 2; i < a.length; i++) t.not(b[i]!.toString('hex'), a[i]!.toString('hex'), `block ${i} differs`);
  t.not(blockHashes('other/model', tokens, 16)[0]!.toString('hex'), a[0]!.toString('hex'), 'the chain is seeded by the model name');
});

t.test('identical prompts give identical outputs; one altered KV digest changes the output', async (t) => {
  const tokens = tokenize('A long document about caches. '.repeat(20));
  const digests = digestsOf(tokens);
  const tail = tokens.slice(digests.length * 16);
  const first = generate(MODEL, digests, tail, 32);
  t.same(generate(MODEL, digestsOf(tokens), tail, 32), first, 'same digests, same output');
  for (const which of [0, Math.floor(digests.length / 2), digests.length - 1]) {
    const corrupted = digests.map((d) => Buffer.from(d));
    corrupted[which]![0] = corrupted[which]![0]! ^ 0xff;
    t.notSame(generate(MODEL, corrupted, tail, 32), first, `a corrupted digest of block ${which} changes the output`);
  }
  t.notSame(generate(MODEL, digests, [...tail, 7], 32), first, 'a different partial tail changes the output');
  t.notSame(generate('other/model', digests, tail, 32), first, 'a different model answers differently');
});

t.test('sampling with temperature > 0 follows the seed', async (t) => {
  const tokens = tokenize('Sample me, please, with some words here and there.');
  const sampled = (seed: number) => generate(MODEL, [], tokens, 24, { temperature: 0.8, seed, ignoreEos: true });
  t.same(sampled(1), sampled(1), 'same seed, same tokens');
  t.notSame(sampled(1), sampled(2), 'another seed, other tokens');
  t.notSame(sampled(1), generate(MODEL, [], tokens, 24), 'sampled differs from greedy');
});

t.test('greedy generation ends with EOS after a natural length unless ignore_eos', async (t) => {
  const g = new Generator(MODEL, [], tokenize('Tell me something.'), { temperature: 0, seed: 0, ignoreEos: false });
  t.ok(g.naturalLength >= 16 && g.naturalLength < 256);
  const ids: number[] = [];
  for (let i = 0; i <= g.naturalLength; i++) ids.push(g.next());
  t.equal(ids[g.naturalLength], EOS_TOKEN_ID, 'EOS at the natural length');
  t.notOk(ids.slice(0, -1).includes(EOS_TOKEN_ID), 'no EOS before it');
});

t.test('the output processor applies stop strings, EOS and max_tokens', async (t) => {
  const id = (p: string) => pieceId(p);
  const p1 = new OutputProcessor([' cache'], 10, false);
  t.same(p1.push(id(' the')), { delta: ' the' });
  t.same(p1.push(id(' cache')), { delta: '', finish: { reason: 'stop', stopReason: ' cache' } }, 'text is cut before the stop string');
  t.equal(p1.text, ' the');

  const p2 = new OutputProcessor([], 2, false);
  p2.push(id(' the'));
  t.same(p2.push(id(' 4')), { delta: ' 4', finish: { reason: 'length', stopReason: null } });

  const p3 = new OutputProcessor([], 10, false);
  t.same(p3.push(EOS_TOKEN_ID), { delta: '', finish: { reason: 'stop', stopReason: null } }, 'EOS: stop with stop_reason null');

  const p4 = new OutputProcessor(['4 2'], 10, false, true);
  p4.push(id(' the'));
  p4.push(id(' 4'));
  p4.push(id(' 2'));
  t.equal(p4.text, ' the 4 2', 'a stop string across tokens is found; include_stop_str_in_output keeps it');
});
