// The README documents everything a user can set or will find on disk, and its
// generated reference blocks match the code.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTIONS, type OptionSpec } from '../../src/config/options.ts';
import { GENERATED_FILES, regenerate } from '../../src/docs/reference.ts';
import { layoutFor } from '../../src/results/layout.ts';
import { SCENARIOS } from '../../src/selftest/scenarios.ts';
import { FAULTS } from '../../src/sim/faults.ts';
import { TEST_NAMES } from '../../src/suite/types.ts';

const ROOT = process.cwd();
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

t.test('the generated reference blocks are up to date (npm run docs)', async (t) => {
  for (const [rel, blocks] of Object.entries(GENERATED_FILES)) {
    const text = readFileSync(join(ROOT, rel), 'utf8');
    t.equal(regenerate(text, blocks), text, rel);
  }
});

t.test('regenerate notices a stale block', async (t) => {
  const stale = README.replace('`MAX_PEGAFLOW_TTFT`', '`MAX_TTFT_OLD_NAME`');
  t.not(stale, README);
  t.equal(regenerate(stale), README, 'the block is rewritten from the option table');
  t.throws(() => regenerate('# no blocks here\n'), /no <!-- generated:options/);
});

t.test('every env var and flag is documented', async (t) => {
  for (const spec of Object.values(OPTIONS) as OptionSpec[]) {
    if (spec.env) t.ok(README.includes(`\`${spec.env}\``), `env ${spec.env}`);
    for (const f of [spec.flag, ...(spec.aliases ?? [])].filter(Boolean)) t.ok(README.includes(`\`${f}\``), `flag ${f}`);
  }
});

t.test('every entry point, fault, scenario and output file is documented', async (t) => {
  for (const f of readdirSync(join(ROOT, 'ci')).filter((x) => x.endsWith('.ts'))) t.ok(README.includes(`ci/${f}`), `ci/${f}`);
  for (const name of Object.keys(FAULTS)) t.ok(README.includes(`\`${name}\``), `fault ${name}`);
  for (const s of SCENARIOS) t.ok(README.includes(`\`${s.name}\``), `scenario ${s.name}`);
  const layout = layoutFor('/r');
  for (const p of [layout.overall, layout.summaryJson, layout.junitXml, layout.reportHtml, layout.envJson, layout.consoleLog]) {
    const name = p.slice(3);
    t.ok(README.includes(`\`${name}\``), `output ${name}`);
  }
  for (const name of Object.values(TEST_NAMES)) t.ok(README.includes(`${name}.result`), `output ${name}.result`);
  for (const f of ['self-test.json', 'samples_diff.txt', 'lifeline.log', 'comparison.json']) t.ok(README.includes(f), `output ${f}`);
});

t.test('the two set-up commands: the full suite on the simulated stack, and the tests', async (t) => {
  t.match(README, /npm ci && ci\/run-all-tests\.ts --stack sim/);
  t.match(README, /npm ci && npm test/);
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
  t.match(ci, /\nnpm test/, '.ci/run calls the README\'s test command');
});
