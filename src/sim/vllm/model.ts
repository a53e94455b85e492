// The simulated model: block hashes, KV digests and output tokens, all
// deterministic functions of the model name and the token ids.
//
//   block hash   h_i  = sha256("hash" | h_{i-1} | tokens of block i)   h_{-1} = sha256("hash-root" | model)
//   KV digest    kv_i = sha256("kv"   | kv_{i-1} | tokens of block i)  kv_{-1} = sha256("kv-root" | model)
//
// Block hashes are what vLLM sends PegaFlow (QueryPrefetch, Save). KV digests
// stand for the KV tensors of a block: they live in the KV memory file, and the
// output is computed from the digests *as read back from that file*, so a block
// that PegaFlow loaded wrong (or a stale GPU cache entry) changes the answer.
//
// Output: s_0 = sha256("out" | model root | sha256(all prompt block digests) | tail tokens)
// where the tail is the prompt's tokens after its last full block. Token j is
// picked from s_j (greedy: the hash alone; sampled: the hash plus a draw from a
// generator seeded per request), and s_{j+1} = sha256("next" | s_j | j | token_j).
// At temperature 0 the model ends a sequence by itself (EOS) after a natural
// length of 16–255 tokens derived from s_0, unless ignore_eos is set.
import { createHash } from 'node:crypto';
import { seededRandom } from '../faults.ts';
import { EOS_TOKEN_ID, OUTPUT_PIECES, pieceId } from './tokenizer.ts';

export const DIGEST_BYTES = 32;

const OUTPUT_IDS: readonly number[] = OUTPUT_PIECES.map(pieceId);
const isBareDigit = (p: string) => /^\d$/.test(p);
const DIGIT_IDS = new Set(OUTPUT_PIECES.filter((p) => /^ ?\d$/.test(p)).map(pieceId));
/** A bare digit continues a number; after anything else the model says the digit with its leading space. */
const SPACED: ReadonlyMap<number, number> = new Map(OUTPUT_PIECES.filter(isBareDigit).map((d) => [pieceId(d), pieceId(` ${d}`)]));
const MIN_NATURAL_LENGTH = 16;
const NATURAL_LENGTH_SPREAD = 240;

function u32le(values: readonly number[], from = 0, to = values.length): Buffer {
  const buf = Buffer.allocUnsafe((to - from) * 4);
  for (let i = from; i < to; i++) buf.writeUInt32LE(values[i]! >>> 0, (i - from) * 4);
  return buf;
}

function sha(...parts: (string | Buffer)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hashRoot(model: string): Buffer {
  return sha('hash-root', model);
}

export function kvRoot(model: string): Buffer {
  return sha('kv-root', model);
}

/** Hash of one full block, chained on its parent's hash. */
export function blockHash(parent: Buffer, tokens: readonly number[], from: number, to: number): Buffer {
  return sha('hash', parent, u32le(tokens, from, to));
}

/** Hashes of every full block of `tokens`. */
export function blockHashes(model: string, tokens: readonly number[], blockSize: number): Buffer[] {
  const out: Buffer[] = [];
  let parent = hashRoot(model);
  for (let start = 0; start + blockSize <= tokens.length; start += blockSize) {
    parent = blockHash(parent, tokens, start, start + blockSize);
    out.push(parent);
  }
  return out;
}

/** KV digest of one full block, computed from the previous block's digest (as read from KV memory). */
export function kvDigest(previous: Buffer, tokens: readonly number[], from: number, to: number): Buffer {
  return sha('kv', previous, u32le(tokens, from, to));
}

export interface SamplingParams {
  temperature: number;
  /** Seed of the sampling generator; used only when temperature > 0. */
  seed: number;
  ignoreEos: boolean;
}

/** Generates one sequence's tokens; `next()` returns the next token id. */
export class Generator {
  private state: Buffer;
  private j = 0;
  private afterDigit = false;
  private readonly rand: (() => number) | undefined;
  readonly naturalLength: number;

  constructor(
    model: string,
    promptDigests: readonly Buffer[],
    tailTokens: readonly number[],
    private readonly params: SamplingParams,
  ) {
    const digests = createHash('sha256');
    for (const d of promptDigests) digests.update(d);
    this.state = sha('out', kvRoot(model), digests.digest(), u32le(tailTokens));
    this.naturalLength = MIN_NATURAL_LENGTH + (this.state.readUInt32LE(0) % NATURAL_LENGTH_SPREAD);
    this.rand = params.temperature > 0 ? seededRandom(params.seed) : undefined;
  }

  next(): number {
    let id: number;
    if (!this.params.ignoreEos && this.j === this.naturalLength) {
      id = EOS_TOKEN_ID;
    } else {
      let pick = this.state.readUInt32LE(4);
      if (this.rand) pick = (pick + Math.floor(this.rand() * 0x1_0000_0000)) >>> 0;
      id = OUTPUT_IDS[pick % OUTPUT_IDS.length]!;
      if (!this.afterDigit) id = SPACED.get(id) ?? id;
    }
    this.afterDigit = DIGIT_IDS.has(id);
    const jb = Buffer.allocUnsafe(8);
    jb.writeUInt32LE(this.j, 0);
    jb.writeUInt32LE(id, 4);
    this.state = sha('next', this.state, jb);
    this.j++;
    return id;
  }
}
