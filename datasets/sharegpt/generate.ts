#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Writes datasets/sharegpt/sharegpt_sample.json: 120 synthetic conversations
// in the raw ShareGPT format, seeded, byte-identical on every run. Shaped like
// real ShareGPT chats: 2–6 exchanges; the first user turn sets the context
// (100–600 words: a pasted text, code, a long question), follow-ups are short
// (5–120 words); assistant turns 60–400 words; some conversations have a
// system turn, some chatgpt/bing speakers.
// Usage: datasets/sharegpt/generate.ts [output-path]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/sim/faults.ts';
import { WORDS } from '../../src/workloads/datasets/words.ts';

export const SEED = 20261122;
export const COUNT = 120;

export function generateSample(seed = SEED, count = COUNT): string {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const text = (words: number) => {
    const out: string[] = [];
    for (let i = 0; i < words; i++) {
      const w = WORDS[int(0, WORDS.length - 1)]!;
      out.push(i % 12 === 0 ? w[0]!.toUpperCase() + w.slice(1) : w);
      if (i % 12 === 11 || i === words - 1) out[out.length - 1] += '.';
    }
    return out.join(' ');
  };
  const entries = [];
  for (let c = 0; c < count; c++) {
    const conversations: { from: string; value: string }[] = [];
    if (rand() < 0.1) conversations.push({ from: 'system', value: text(int(10, 40)) });
    const exchanges = int(2, 6);
    const assistant = rand() < 0.08 ? 'chatgpt' : rand() < 0.05 ? 'bing' : 'gpt';
    for (let e = 0; e < exchanges; e++) {
      conversations.push({ from: 'human', value: text(e === 0 ? int(100, 600) : int(5, 120)) });
      conversations.push({ from: assistant, value: text(int(60, 400)) });
    }
    entries.push({ id: `kvgate-sample-${String(c).padStart(4, '0')}`, conversations });
  }
  return JSON.stringify(entries) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? fileURLToPath(new URL('./sharegpt_sample.json', import.meta.url));
  writeFileSync(out, generateSample());
  process.stdout.write(`wrote ${out}\n`);
}
