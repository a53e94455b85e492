// Long-document QA inputs, as LMCache's long-doc benchmark builds them:
// seeded documents of a target token length, each followed by a question.
// Every document starts with its own header, so no two share a prefix block
// (a shared prefix would be served by the GPU cache and blur the measurement).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { seededRandom } from '../../sim/faults.ts';
import { WORDS } from './words.ts';

export interface LongDocRequest {
  id: string;
  documentIndex: number;
  prompt: string;
  /** Tokens of the prompt for a word-level tokenizer (exact for the simulated model; approximate for real ones). */
  approxTokens: number;
}

export interface LongDocOptions {
  numRequests: number;
  numDocuments: number;
  documentLength: number;
  seed: number;
}

const SENTENCE_WORDS = 14;

/** One document: header, then words in sentences of 14, to `tokens` tokens (each word and each period counts one). */
export function generateDocument(index: number, tokens: number, seed: number): { text: string; tokens: number } {
  const rand = seededRandom(seed * 100_003 + index * 7_919 + 1);
  const header = `Document ${index} of seed ${seed}.`;
  // "Document", the digits, "of", "seed", the digits, "." — the simulated tokenizer's count.
  const headerTokens = 4 + String(index).length + String(seed).length;
  const parts: string[] = [header];
  let count = headerTokens;
  let inSentence = 0;
  while (count < tokens) {
    const w = WORDS[Math.floor(rand() * WORDS.length)]!;
    const endSentence = inSentence === SENTENCE_WORDS - 1 && count + 2 <= tokens;
    parts.push(endSentence ? `${w}.` : w);
    count += endSentence ? 2 : 1;
    inSentence = endSentence ? 0 : inSentence + 1;
  }
  return { text: parts.join(' '), tokens: count };
}

export function questionFor(index: number): { text: string; tokens: number } {
  const text = `\n\nQuestion: what is the main point of document ${index}? Answer in one sentence.\nAnswer:`;
  // 2 newlines, "Question" ":", 7 words, the digits, "?", 4 words, ".", newline, "Answer" ":" — as the simulated tokenizer counts.
  return { text, tokens: 20 + String(index).length };
}

/** Request i asks about document i mod numDocuments. Deterministic in (options). */
export function generateLongDocRequests(opts: LongDocOptions): LongDocRequest[] {
  const docs = new Map<number, { text: string; tokens: number }>();
  const out: LongDocRequest[] = [];
  for (let i = 0; i < opts.numRequests; i++) {
    const d = i % opts.numDocuments;
    let doc = docs.get(d);
    if (!doc) {
      doc = generateDocument(d, opts.documentLength, opts.seed);
      docs.set(d, doc);
    }
    const q = questionFor(d);
    out.push({ id: `doc${d}-req${i}`, documentIndex: d, prompt: doc.text + q.text, approxTokens: doc.tokens + q.tokens });
  }
  return out;
}

const PromptItem = z.union([z.string().min(1), z.object({ prompt: z.string().min(1) }).passthrough()]);

export class DatasetError extends Error {}

/** --data-file: a JSON array of prompt strings or of {"prompt": "..."} objects. */
export function loadPromptFile(path: string): string[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`${path}: cannot read the data file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new DatasetError(`${path}: not valid JSON (${(err as Error).message}); expected an array of prompt strings or of {"prompt": ...} objects`);
  }
  if (!Array.isArray(json)) throw new DatasetError(`${path}: expected a JSON array of prompt strings or of {"prompt": ...} objects, got ${json === null ? 'null' : typeof json}`);
  if (json.length === 0) throw new DatasetError(`${path}: the array is empty; expected at least one prompt`);
  return json.map((item, i) => {
    const parsed = PromptItem.safeParse(item);
    if (!parsed.success) throw new DatasetError(`${path}: item ${i}: expected a non-empty string or an object with a non-empty string "prompt"`);
    return typeof parsed.data === 'string' ? parsed.data : parsed.data.prompt;
  });
}
