import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSamplesFile, parseSamples } from '../../src/analysis/lm-eval-samples.ts';
import { buildLmEvalArgs, lmEvalEnv } from '../../src/workloads/lm-eval/driver.ts';
import { startSimVllm } from '../../src/sim/vllm/server.ts';
import { freePort } from '../helpers/ports.ts';

const ROOT = process.cwd();
const STAND_IN = join(ROOT, 'test/stand-ins/lm_eval');
const TASKS = join(ROOT, 'datasets/lm_eval');
const REAL_FIXTURE = join(ROOT, 'test/fixtures/real/lm_eval');

/** Runs lm_eval asynchronously: the sim server lives in this process, so a blocking spawnSync would deadlock. */
function runLmEval(bin: string, port: number, out: string, limit = 10): Promise<{ status: number | null; stderr: string }> {
  const args = buildLmEvalArgs({ servedModelName: 'kvgate/sim-qwen3-8b', baseUrl: `http://127.0.0.1:${port}/v1/completions`, task: 'kvgate_gsm8k_mini', includePath: TASKS, limit, concurrent: 10, seed: 0, outputPath: out });
  return new Promise((resolve) => {
    const child = execFile(bin, args, { cwd: TASKS, env: { ...process.env, ...lmEvalEnv(TASKS) }, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }, (err, _stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
    child.stdin?.end();
  });
}

t.test('the stand-in writes what real lm_eval 0.4.13 wrote for the same server, field by field', async (t) => {
  const port = await freePort();
  const sim = await startSimVllm({ model: 'kvgate/sim-qwen3-8b', port, host: '127.0.0.1', startupDelayS: 0 });
  t.teardown(() => sim.close());
  const out = mkdtempSync(join(tmpdir(), 'kvgate-standin-'));
  const res = await runLmEval(STAND_IN, port, out);
  t.equal(res.status, 0, res.stderr);
  const dirs = readdirSync(out);
  t.same(dirs, ['kvgate__sim-qwen3-8b'], 'model folder named like lm_eval sanitises it');
  const files = readdirSync(join(out, dirs[0]!)).sort();
  t.match(files[0]!, /^results_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}\.json$/);
  t.match(files[1]!, /^samples_kvgate_gsm8k_mini_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}\.jsonl$/);
  const mine = parseSamples(findSamplesFile(out, 'kvgate_gsm8k_mini'));
  const real = parseSamples(findSamplesFile(REAL_FIXTURE, 'kvgate_gsm8k_mini'));
  t.equal(mine.length, real.length);
  const key = (x: { doc_id: unknown; filter: string }) => `${x.doc_id}/${x.filter}`;
  const realBy = new Map(real.map((x) => [key(x), x]));
  for (const m of mine) {
    const r = realBy.get(key(m))!;
    t.same(Object.keys(m), Object.keys(r), `doc ${key(m)}: same fields in the same order`);
    for (const f of Object.keys(r)) t.same(m[f], r[f], `doc ${key(m)}: ${f}`);
  }
  const realResults = JSON.parse(readFileSync(join(REAL_FIXTURE, 'kvgate__sim-qwen3-8b', readdirSync(join(REAL_FIXTURE, 'kvgate__sim-qwen3-8b')).find((f) => f.startsWith('results_'))!), 'utf8')) as Record<string, unknown>;
  const myResults = JSON.parse(readFileSync(join(out, dirs[0]!, files[0]!), 'utf8')) as Record<string, unknown>;
  t.same(Object.keys(myResults), Object.keys(realResults), 'results JSON has the same top-level keys');
  t.same((myResults['results'] as Record<string, unknown>)['kvgate_gsm8k_mini'], (realResults['results'] as Record<string, unknown>)['kvgate_gsm8k_mini'], 'same scores');
});

t.test('the stand-in exits non-zero when the server keeps failing, as lm_eval does', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'kvgate-standin-'));
  const res = await runLmEval(STAND_IN, 1, out, 2);
  t.not(res.status, 0);
  t.match(res.stderr, /Retry attempt 2/, "retries like lm_eval (tenacity, max_retries attempts)");
  t.match(res.stderr, /Traceback[\s\S]*Cannot connect to host 127\.0\.0\.1:1/, "ends with the connection error, as lm_eval does");
  t.notOk(existsSync(join(out, 'kvgate__sim-qwen3-8b')), 'no output written for a failed run');
  const bad = spawnSync(STAND_IN, ['--bogus'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /lm-eval: error: unrecognized arguments: --bogus/);
});

const REAL = process.env['KVGATE_REAL_LM_EVAL'];
t.test('the real lm_eval and the stand-in agree on a live sim server', { skip: REAL ? false : 'set KVGATE_REAL_LM_EVAL to a real lm_eval binary (.ci/run does) to run this' }, async (t) => {
  const port = await freePort();
  const sim = await startSimVllm({ model: 'kvgate/sim-qwen3-8b', port, host: '127.0.0.1', startupDelayS: 0 });
  t.teardown(() => sim.close());
  const a = mkdtempSync(join(tmpdir(), 'kvgate-real-'));
  const b = mkdtempSync(join(tmpdir(), 'kvgate-real-'));
  const real = await runLmEval(REAL!, port, a, 5);
  t.equal(real.status, 0, real.stderr.slice(-2000));
  t.equal((await runLmEval(STAND_IN, port, b, 5)).status, 0);
  const ra = parseSamples(findSamplesFile(a, 'kvgate_gsm8k_mini'));
  const sb = parseSamples(findSamplesFile(b, 'kvgate_gsm8k_mini'));
  const k = (x: { doc_id: unknown; filter: string }) => `${x.doc_id}/${x.filter}`;
  const byKey = new Map(sb.map((x) => [k(x), x]));
  for (const r of ra) t.same(byKey.get(k(r)), r, `doc ${k(r)} identical`);
});
