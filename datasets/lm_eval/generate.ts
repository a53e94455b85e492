#!/bin/sh
':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"
// Writes datasets/lm_eval/gsm8k_mini.jsonl: 200 seeded GSM8K-style word
// problems ({question, answer}, the answer's last line "#### <number>" as in
// GSM8K), so the lm_eval consistency test runs offline with the real lm_eval
// (task kvgate_gsm8k_mini, --include_path datasets/lm_eval) or the stand-in.
// Usage: datasets/lm_eval/generate.ts [output-path]
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/sim/faults.ts';

export const SEED = 8;
export const COUNT = 200;

const NAMES = ['Ava', 'Ben', 'Chen', 'Dina', 'Eli', 'Farah', 'Gus', 'Hana', 'Ivan', 'Jo', 'Kofi', 'Lena', 'Mateo', 'Nia', 'Omar', 'Priya'];
const ITEMS = ['apples', 'books', 'marbles', 'stickers', 'pencils', 'cookies', 'stamps', 'shells', 'cards', 'coins'];

export function generateProblems(seed = SEED, count = COUNT): { question: string; answer: string }[] {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T,>(xs: readonly T[]) => xs[int(0, xs.length - 1)]!;
  const out: { question: string; answer: string }[] = [];
  for (let i = 0; i < count; i++) {
    const name = pick(NAMES);
    const item = pick(ITEMS);
    const kind = i % 4;
    if (kind === 0) {
      const a = int(3, 60), b = int(2, 40), c = int(1, a + b - 1);
      out.push({
        question: `${name} has ${a} ${item}. A friend gives ${name} ${b} more, and then ${name} gives away ${c}. How many ${item} does ${name} have now?`,
        answer: `${name} has ${a} + ${b} = <<${a}+${b}=${a + b}>>${a + b} ${item} after the gift.\nAfter giving away ${c}, ${name} has ${a + b} - ${c} = <<${a + b}-${c}=${a + b - c}>>${a + b - c} ${item}.\n#### ${a + b - c}`,
      });
    } else if (kind === 1) {
      const boxes = int(2, 12), per = int(3, 25), price = int(1, 9);
      out.push({
        question: `${name} buys ${boxes} boxes of ${item} with ${per} ${item} in each box. Each box costs $${price}. How many ${item} did ${name} buy, and how much did it cost in total? Give the total cost.`,
        answer: `${name} bought ${boxes} * ${per} = <<${boxes}*${per}=${boxes * per}>>${boxes * per} ${item}.\nThe cost is ${boxes} * ${price} = <<${boxes}*${price}=${boxes * price}>>${boxes * price} dollars.\n#### ${boxes * price}`,
      });
    } else if (kind === 2) {
      const total = int(4, 30) * 4, groups = [2, 4][int(0, 1)]!;
      out.push({
        question: `There are ${total} ${item} shared equally among ${groups} children. Each child then finds 3 more. How many ${item} does each child have?`,
        answer: `Each child first gets ${total} / ${groups} = <<${total}/${groups}=${total / groups}>>${total / groups} ${item}.\nWith 3 more each has ${total / groups} + 3 = <<${total / groups}+3=${total / groups + 3}>>${total / groups + 3}.\n#### ${total / groups + 3}`,
      });
    } else {
      const hours = int(2, 9), rate = int(5, 30), bonus = int(5, 50);
      out.push({
        question: `${name} earns $${rate} per hour and works ${hours} hours on Saturday. ${name} also gets a $${bonus} bonus. How much does ${name} earn on Saturday?`,
        answer: `Hourly pay is ${hours} * ${rate} = <<${hours}*${rate}=${hours * rate}>>${hours * rate} dollars.\nWith the bonus it is ${hours * rate} + ${bonus} = <<${hours * rate}+${bonus}=${hours * rate + bonus}>>${hours * rate + bonus} dollars.\n#### ${hours * rate + bonus}`,
      });
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outPath = process.argv[2] ?? fileURLToPath(new URL('./gsm8k_mini.jsonl', import.meta.url));
  writeFileSync(outPath, generateProblems().map((p) => JSON.stringify(p)).join('\n') + '\n');
  process.stdout.write(`wrote ${outPath}\n`);
}
