// Bad input is refused before anything starts: exit 2, no results dir, no
// logs, no server, no pid file, and a message naming the variable or flag,
// the value and what was expected.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeProcs, killAllOf, listDir, relEnv, runScript, waitAllGone } from './harness.ts';

interface Case {
  name: string;
  script?: string;
  args?: string[];
  env?: (base: string) => Record<string, string>;
  expect: (base: string) => RegExp;
  /** RESULTS_DIR exists (empty) before the run. */
  resultsDirExists?: boolean;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const CASES: Case[] = [
  { name: 'MAX_PEGAFLOW_TTFT=abc', env: () => ({ MAX_PEGAFLOW_TTFT: 'abc' }), expect: () => /MAX_PEGAFLOW_TTFT="abc": expected seconds, a number > 0/ },
  { name: 'PEGA_POOL_SIZE=50zb', env: () => ({ PEGA_POOL_SIZE: '50zb' }), expect: () => /PEGA_POOL_SIZE="50zb": expected a size: a number with b, kb, mb, gb or tb/ },
  { name: 'VLLM_PORT=70000', env: () => ({ VLLM_PORT: '70000' }), expect: () => /VLLM_PORT="70000": expected a TCP port \(whole number from 1 to 65535\)/ },
  { name: 'REQUEST_TIMEOUT=soon', env: () => ({ REQUEST_TIMEOUT: 'soon' }), expect: () => /REQUEST_TIMEOUT="soon": expected a duration/ },
  { name: 'LONG_DOC_NUM_REQUESTS=0', env: () => ({ LONG_DOC_NUM_REQUESTS: '0' }), expect: () => /LONG_DOC_NUM_REQUESTS="0": expected a whole number from 1 up/ },
  { name: 'unknown flag --bogus', args: ['--bogus'], expect: () => /unknown option --bogus[\s\S]*Usage: ci\/run-all-tests\.ts/ },
  { name: 'bad flag value --num-requests abc (run-long-doc-qa)', script: 'run-long-doc-qa.ts', args: ['--num-requests', 'abc'], expect: () => /--num-requests="abc": expected a whole number from 1 up/ },
  { name: 'missing DATA_FILE', env: (b) => ({ DATA_FILE: join(b, 'missing.json') }), expect: (b) => new RegExp(`DATA_FILE="${esc(join(b, 'missing.json'))}": data file not found`) },
  {
    name: 'DATA_FILE that is not JSON',
    env: (b) => {
      writeFileSync(join(b, 'bad.json'), 'not json\n');
      return { DATA_FILE: join(b, 'bad.json') };
    },
    expect: (b) => new RegExp(`${esc(join(b, 'bad.json'))}: .*not valid JSON: at line 1, column 1`),
  },
  {
    name: 'missing SHARE_GPT_DATASET (--share-gpt-only)',
    args: ['--share-gpt-only'],
    env: (b) => ({ SHARE_GPT_DATASET: join(b, 'nope.json') }),
    expect: (b) => new RegExp(`SHARE_GPT_DATASET="${esc(join(b, 'nope.json'))}": ShareGPT dataset not found`),
  },
  { name: 'VLLM_BIN=/nonexistent/vllm', env: () => ({ VLLM_BIN: '/nonexistent/vllm' }), expect: () => /VLLM_BIN="\/nonexistent\/vllm": not found; expected the vllm executable/ },
  { name: 'VLLM_BIN=a bare name not on PATH', env: () => ({ VLLM_BIN: 'kvgate-no-such-vllm' }), expect: () => /VLLM_BIN="kvgate-no-such-vllm": not found on PATH; expected the vllm executable/ },
  {
    name: 'VLLM_BIN=a file without execute permission',
    env: (b) => {
      writeFileSync(join(b, 'vllm'), '#!/bin/sh\n');
      chmodSync(join(b, 'vllm'), 0o644);
      return { VLLM_BIN: join(b, 'vllm') };
    },
    expect: (b) => new RegExp(`VLLM_BIN="${esc(join(b, 'vllm'))}": not executable`),
  },
  {
    name: 'PEGAFLOW_BIN=a directory',
    env: (b) => {
      mkdirSync(join(b, 'pegaflow-dir'));
      return { PEGAFLOW_BIN: join(b, 'pegaflow-dir') };
    },
    expect: (b) => new RegExp(`PEGAFLOW_BIN="${esc(join(b, 'pegaflow-dir'))}": not a file; expected the pegaflow-server executable`),
  },
  { name: 'LM_EVAL_BIN=/nonexistent/lm_eval (--lm-eval-only)', args: ['--lm-eval-only'], env: () => ({ LM_EVAL_BIN: '/nonexistent/lm_eval' }), expect: () => /LM_EVAL_BIN="\/nonexistent\/lm_eval": not found; expected the lm_eval executable/ },
  { name: 'LM_EVAL_BIN=/nonexistent/lm_eval (run-lm-eval, servers not needed)', script: 'run-lm-eval.ts', args: [], env: () => ({ LM_EVAL_BIN: '/nonexistent/lm_eval' }), expect: () => /LM_EVAL_BIN="\/nonexistent\/lm_eval": not found/ },
  { name: 'RESULTS_DIR that already exists', resultsDirExists: true, expect: (b) => new RegExp(`results dir ${esc(join(b, 'results'))} already exists and is never overwritten; choose another BUILD_ID or RESULTS_DIR`) },
  { name: 'VLLM_BIN=/nonexistent/vllm (start-servers start-all)', script: 'start-servers.ts', args: ['start-all'], env: () => ({ VLLM_BIN: '/nonexistent/vllm' }), expect: () => /start-servers: bad input \(nothing was started\):\n\s+VLLM_BIN="\/nonexistent\/vllm": not found/ },
];

for (const c of CASES) {
  t.test(`bad input, ${c.name}: exit 2 before anything starts, naming what is wrong`, { timeout: 60_000 }, async (t) => {
    const e = await relEnv();
    t.teardown(() => void killAllOf(e.base, e.ports));
    if (c.resultsDirExists) mkdirSync(e.resultsDir);
    const extra = c.env?.(e.base) ?? {};
    const script = c.script ?? 'run-all-tests.ts';
    const args = c.args ?? (script === 'run-all-tests.ts' ? ['--long-doc-only'] : []);
    const run = runScript(script, args, { ...e.env, ...extra });
    const exit = await run.waitForExit(30_000);
    const out = run.output();
    t.same(exit, { code: 2, signal: null }, 'exit code 2', { output: out });
    t.match(out, c.expect(e.base), 'the message names the variable or flag, the value and the expectation');
    if (c.resultsDirExists) t.same(listDir(e.resultsDir), [], 'nothing was written into the existing results dir');
    else t.notOk(existsSync(e.resultsDir), 'no results dir (so no logs, no .result) was created');
    t.same(listDir(e.stateDir), [], 'no pid file was written');
    t.notMatch(out, /starting (pegaflow-server|vllm)/, 'no server was started');
    const { left } = await waitAllGone(e.base, e.ports, 5_000);
    t.same(left, [], `no process of ours is alive: ${describeProcs(left)}`);
  });
}
