// Long-document QA inputs in the manner of LMCache's long_doc_qa benchmark:
// seeded documents of a target token length, each followed by a question.
//
// Every document starts with its own id, so no two documents share even their
// first token, let alone a prefix block: a shared prefix would be served by the
// GPU prefix cache and blur what the connector does. The body is words from a
// fixed list, separated by single spaces: one token each for kvgate's simulated
// tokenizer and about one for real BPE tokenizers, so a document of N words is
// a document of about N tokens. Nothing here sends a request.
import { z } from 'zod';
import { DatasetError, describeJson, readJsonArrayFile } from './json-file.ts';
import { mixSeed, seededRandom } from './random.ts';
import { WORDS } from './words.ts';

export { DatasetError } from './json-file.ts';

/** LMCache's published long-doc QA runs use 10 000-token documents. */
export const DEFAULT_DOCUMENT_TOKENS = 10_000;

export interface LongDocRequest {
  /** `doc<d>-req<i>`: unique within the list. */
  id: string;
  /** Request i uses document i mod numDocuments. */
  documentIndex: number;
  /** The document, then the question. */
  prompt: string;
  /** Tokens of the prompt counted word by word (see estimateTokens): exact for the simulated model, close for BPE tokenizers. */
  approxTokens: number;
}

export interface LongDocOptions {
  numRequests: number;
  numDocuments: number;
  /** Tokens per document, its id included (default 10 000). */
  documentLength?: number;
  seed: number;
}

export interface GeneratedText {
  text: string;
  /** estimateTokens(text). */
  tokens: number;
}

const LONG_WORD_RE = /[A-Za-z]+|\d|\n|[^\sA-Za-z\d]/g;

/**
 * A word-level token count: each run of up to 8 letters, each further 6
 * letters, each digit, each newline and each other non-space character count
 * one. That is how kvgate's simulated tokenizer splits ASCII text, and within a
 * few per cent of BPE tokenizers for the text generated here.
 */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(LONG_WORD_RE)) {
    const s = m[0];
    n += s.length > 8 && /^[A-Za-z]/.test(s) ? 1 + Math.ceil((s.length - 8) / 6) : 1;
  }
  return n;
}

/**
 * The opening of document `index`: a word chosen by index (distinct for the
 * first WORDS.length documents of a seed), then the index. Both come before any
 * shared text, so documents differ from their first token.
 */
export function documentHeader(index: number, seed: number): string {
  const word = WORDS[(index + (mixSeed(seed, 0x1d0c) % WORDS.length)) % WORDS.length]!;
  return `${word} ${index}:`;
}

/** Document `index`: its header, then seeded words to `tokens` tokens in all. */
export function generateDocument(index: number, tokens: number, seed: number): GeneratedText {
  const header = documentHeader(index, seed);
  const headerTokens = estimateTokens(header);
  const rand = seededRandom(mixSeed(seed, index, 0xd0c));
  const n = Math.max(0, tokens - headerTokens);
  const words = new Array<string>(n + 1);
  words[0] = header;
  for (let i = 1; i <= n; i++) words[i] = WORDS[Math.floor(rand() * WORDS.length)]!;
  return { text: words.join(' '), tokens: headerTokens + n };
}

/** The question that follows document `index`, as LMCache-style QA prompts end. */
export function questionFor(index: number): GeneratedText {
  const text = `\n\nQuestion: What is document ${index} about? Answer in one sentence.\nAnswer:`;
  return { text, tokens: estimateTokens(text) };
}

function checkCount(name: string, flag: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} (${flag}) is ${value}; expected an integer ≥ ${min}`);
}

/** `numRequests` requests over `numDocuments` documents; the same options always give the same requests. */
export function generateLongDocRequests(opts: LongDocOptions): LongDocRequest[] {
  const documentLength = opts.documentLength ?? DEFAULT_DOCUMENT_TOKENS;
  checkCount('numRequests', '--num-requests', opts.numRequests, 0);
  checkCount('numDocuments', '--num-documents', opts.numDocuments, 1);
  checkCount('documentLength', '--document-length', documentLength, 1);
  checkCount('seed', '--seed', opts.seed, 0);
  const prompts = new Map<number, GeneratedText>();
  const out: LongDocRequest[] = [];
  for (let i = 0; i < opts.numRequests; i++) {
    const d = i % opts.numDocuments;
    let p = prompts.get(d);
    if (!p) {
      const doc = generateDocument(d, documentLength, opts.seed);
      const q = questionFor(d);
      p = { text: doc.text + q.text, tokens: doc.tokens + q.tokens };
      prompts.set(d, p);
    }
    out.push({ id: `doc${d}-req${i}`, documentIndex: d, prompt: p.text, approxTokens: p.tokens });
  }
  return out;
}

export const PROMPT_FILE_EXPECTED = 'a JSON array of prompt strings or of {"prompt": string} objects';
const ITEM_EXPECTED = 'a non-empty string or an object with a non-empty string "prompt"';

const nonBlank = z.string().refine((s) => s.trim() !== '');
const PromptItem = z.union([nonBlank, z.object({ prompt: nonBlank })]);

/**
 * `--data-file`: a JSON array of prompt strings or of objects with a string
 * `"prompt"` (other fields ignored), at least one. Errors name the file, the
 * item and what was expected.
 */
export function loadPromptFile(path: string): string[] {
  const { items, locate } = readJsonArrayFile(path, '--data-file prompt file', PROMPT_FILE_EXPECTED);
  if (items.length === 0) throw new DatasetError(`${path}: the array is empty; expected at least one prompt (${PROMPT_FILE_EXPECTED})`);
  return items.map((item, i) => {
    const parsed = PromptItem.safeParse(item);
    if (!parsed.success) throw new DatasetError(`${path}: ${locate(i)}: expected ${ITEM_EXPECTED}, got ${describeJson(item)}`);
    return typeof parsed.data === 'string' ? parsed.data : parsed.data.prompt;
  });
}
