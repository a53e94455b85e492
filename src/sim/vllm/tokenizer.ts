// The simulated model's tokenizer: deterministic and word-ish, so token counts
// look like a real BPE tokenizer's for English text (about 1.3 tokens a word).
//
// Text is split into pieces: a ChatML special token (`<|im_start|>`), a newline,
// a word with the spaces before it (words longer than 8 letters are cut into
// chunks), a single digit with the spaces before it (numbers are one token per
// digit, as in Qwen's tokenizer), any other single character with the spaces
// before it, or a run of spaces. Each piece maps to an id by a stable hash
// (FNV-1a) into a fixed vocabulary. The mapping is not invertible: only ids
// the model generates (from OUTPUT_PIECES) can be turned back into text.

/** Vocabulary size of the simulated model (Qwen's). */
export const VOCAB_SIZE = 151_936;
export const SPECIAL_TOKENS = { '<|endoftext|>': 151_643, '<|im_start|>': 151_644, '<|im_end|>': 151_645 } as const;
/** The id the model emits to end a sequence on its own (finish_reason "stop"). */
export const EOS_TOKEN_ID = SPECIAL_TOKENS['<|im_end|>'];
const REGULAR_IDS = SPECIAL_TOKENS['<|endoftext|>'];

const PIECE_RE = /<\|[A-Za-z_]+\|>|\n|[ \t]*[\p{L}\p{M}]+|[ \t]*\p{Nd}|[ \t]*[^\s\p{L}\p{M}\p{Nd}]|[ \t\r\f\v]+/gu;
const FIRST_CHUNK_LETTERS = 8;
const NEXT_CHUNK_LETTERS = 6;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function pieceId(piece: string): number {
  const special = (SPECIAL_TOKENS as Record<string, number>)[piece];
  if (special !== undefined) return special;
  return fnv1a(piece) % REGULAR_IDS;
}

/** Splits a long word (with its leading spaces) into chunks; other pieces pass through. */
function* chunks(piece: string): Generator<string> {
  const m = /^([ \t]*)([\p{L}\p{M}]+)$/u.exec(piece);
  if (!m || m[2]!.length <= FIRST_CHUNK_LETTERS) {
    yield piece;
    return;
  }
  const lead = m[1]!;
  const word = m[2]!;
  yield lead + word.slice(0, FIRST_CHUNK_LETTERS);
  for (let i = FIRST_CHUNK_LETTERS; i < word.length; i += NEXT_CHUNK_LETTERS) yield word.slice(i, i + NEXT_CHUNK_LETTERS);
}

export function pieces(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(PIECE_RE)) for (const c of chunks(m[0])) out.push(c);
  return out;
}

export function tokenize(text: string): number[] {
  return pieces(text).map(pieceId);
}

/** Number of tokens the simulated model sees for `text` (dataset generators size documents with it). */
export function countTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(PIECE_RE)) for (const _ of chunks(m[0])) n++;
  return n;
}

// What the model can say: words with a leading space, digits (with and without
// one, so numbers of several digits appear), punctuation, newlines. Every entry
// is a single tokenizer piece, so generated text re-tokenizes to the same ids.
const WORDS = (
  'the of and to in is that it for as with was on be by this are at from or an have not which but all one ' +
  'cache block token prefix memory load save query hit miss store server request answer result value number ' +
  'total sum count time first last next each step data model layer key page pool host device transfer ' +
  'document question context section table figure report page line list item part point case rate ' +
  'so then hence because if when while after before since until thus also only again less than ' +
  'we you they he she there here what how why who where yes no true false equal equals plus minus times ' +
  'apples books cars days hours minutes dollars meters people students tickets boxes eggs pages coins ' +
  'has had will would can could should must may might does did make made get got give gave take took ' +
  'new old same other several much few some most every half twice three four five seven nine ten hundred'
).split(/\s+/);

export const OUTPUT_PIECES: readonly string[] = Object.freeze([
  ...WORDS.map((w) => ` ${w}`),
  ...'0123456789'.split('').map((d) => ` ${d}`),
  ...'0123456789'.split(''),
  ...'0123456789'.split(''),
  '.', '.', ',', ',', ':', '?', ' =', ' +', ' -', ' *', '\n',
]);

const OUTPUT_BY_ID = new Map<number, string>();
for (const p of OUTPUT_PIECES) OUTPUT_BY_ID.set(pieceId(p), p);

/** Text of one generated token id ("" for the end-of-sequence token and ids the model never generates). */
export function detokenizeOne(id: number): string {
  return OUTPUT_BY_ID.get(id) ?? '';
}

export function detokenize(ids: readonly number[]): string {
  return ids.map(detokenizeOne).join('');
}
