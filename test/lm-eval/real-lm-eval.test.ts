// The lm_eval consistency test through the whole suite, with the REAL lm_eval
// (PyPI lm-eval 0.4.13, installed by .ci/run into .venv/lm-eval) and the local
// task in datasets/lm_eval, against the simulated stack: a healthy connector
// passes, one that corrupts loaded KV blocks fails naming the docs.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simEnv } from '../helpers/sim-config.ts';

const REAL = process.env['KVGATE_REAL_LM_EVAL'];
const skip = REAL ? false : 'set KVGATE_REAL_LM_EVAL to a real lm_eval binary (.ci/run installs one) to run this';

async function lmEvalSuite(extra: Record<string, string>) {
  const { env } = await simEnv({ LM_EVAL_BIN: REAL!, LM_EVAL_LIMIT: '10', VLLM_EXTRA_ARGS: '--sim-startup-delay-s 0', PEGA_EXTRA_ARGS: '--sim-startup-delay-s 0', ...extra });
  const childEnv = { ...process.env, ...env };
  delete childEnv['KVGATE_SIM_FAULTS'];
  return new Promise<{ code: number; out: string; dir: string }>((resolve) => {
    execFile(join(process.cwd(), 'ci', 'run-all-tests.ts'), ['--quick', '--lm-eval-only'], { env: childEnv, encoding: 'utf8', maxBuffer: 32 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr, dir: env['RESULTS_DIR']! });
    });
  });
}

t.test('real lm_eval: a healthy connector gives identical samples in both runs', { skip }, async (t) => {
  const r = await lmEvalSuite({});
  if (r.code !== 0) t.comment(r.out.slice(-4000));
  t.equal(r.code, 0, 'suite passes');
  const summary = JSON.parse(readFileSync(join(r.dir, 'summary.json'), 'utf8')) as { tests: { test: string; status: string; reason: string; metrics: Record<string, number> }[] };
  const lm = summary.tests.find((x) => x.test === 'lm-eval')!;
  t.equal(lm.status, 'pass', lm.reason);
  t.ok(lm.metrics['pegaflow_hit_blocks']! > 0, 'the second run was served from PegaFlow');
  t.ok(readFileSync(join(r.dir, 'kvgate.log'), 'utf8').includes(`lm_eval: ${REAL} (from LM_EVAL_BIN)`), 'the suite drove the real lm_eval');
  t.match(readFileSync(join(r.dir, 'logs', 'lm_eval-first_run.log'), 'utf8'), /Selected Tasks: \['kvgate_gsm8k_mini'\]/, 'with the local task');
});

t.test('real lm_eval: corrupted loads make the samples differ, and the docs are named', { skip }, async (t) => {
  const r = await lmEvalSuite({ PEGA_EXTRA_ARGS: '--sim-startup-delay-s 0 --sim-faults corrupt-load' });
  t.equal(r.code, 1, 'suite fails');
  const result = readFileSync(join(r.dir, 'lm-eval-consistency.result'), 'utf8');
  t.match(result, /samples differ in \d+\/10 docs: \d/);
  t.match(readFileSync(join(r.dir, 'lm_eval', 'samples_diff.txt'), 'utf8'), /doc/);
});
