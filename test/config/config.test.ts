import t from 'tap';
import { parseArgs, UsageError, flagsFor } from '../../src/config/args.ts';
import { ConfigError, resolveConfig, timestampBuildId } from '../../src/config/config.ts';
import { OPTIONS, SCRIPTS, type Script } from '../../src/config/options.ts';
import { parseSize, parseDurationS, splitShellWords } from '../../src/config/values.ts';
import { usage } from '../../src/config/usage.ts';

const ROOT = '/repo';
function resolve(script: Script, argv: string[], env: Record<string, string> = {}) {
  return resolveConfig(script, parseArgs(script, argv, { maxPositionals: 1 }), { env, repoRoot: process.cwd(), now: new Date(2026, 10, 22, 3, 4, 5) });
}
function problems(script: Script, argv: string[], env: Record<string, string>): string[] {
  try {
    resolve(script, argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.source}${p.value === undefined ? '' : `=${p.value}`}: ${p.message}`);
    throw err;
  }
  return [];
}
void ROOT;

t.test('sizes parse like pegaflow-server (1024-based units)', async (t) => {
  t.same(parseSize('50gb'), { text: '50gb', bytes: 50 * 1024 ** 3 });
  t.same(parseSize('512MB'), { text: '512mb', bytes: 512 * 1024 ** 2 });
  t.equal(parseSize('1.5tb')?.bytes, Math.floor(1.5 * 1024 ** 4));
  t.equal(parseSize('4096')?.bytes, 4096);
  t.equal(parseSize('10 kb')?.bytes, 10240);
  for (const bad of ['', 'gb', '-1gb', '12zb', '1,5gb', 'fifty']) t.equal(parseSize(bad), undefined, `rejects "${bad}"`);
});

t.test('durations take plain seconds (bash style) or units', async (t) => {
  t.equal(parseDurationS('600'), 600);
  t.equal(parseDurationS('250ms'), 0.25);
  t.equal(parseDurationS('10m'), 600);
  t.equal(parseDurationS('1h'), 3600);
  t.equal(parseDurationS('5 minutes'), undefined);
});

t.test('extra args split like a shell', async (t) => {
  t.same(splitShellWords(`--gpu-memory-utilization 0.8 --kv-cache-dtype 'fp8' --x "a b"`), ['--gpu-memory-utilization', '0.8', '--kv-cache-dtype', 'fp8', '--x', 'a b']);
  t.same(splitShellWords(''), []);
  t.equal(splitShellWords(`--x 'unbalanced`), undefined);
});

t.test('defaults match the bash suite', async (t) => {
  const c = resolve('run-all-tests', [], { MODEL: 'Qwen/Qwen3-8B' });
  t.equal(c.stack, 'real');
  t.equal(c.servedModelName, 'Qwen/Qwen3-8B', 'SERVED_MODEL_NAME defaults to MODEL');
  t.same(c.ports, { vllm: 8000, baseline: 9000, pegaGrpc: 50055, pegaHttp: 9091 });
  t.equal(c.pegaflow.poolSize.text, '50gb');
  t.equal(c.pegaflow.ssdCachePath, '/tmp/pegaflow_ci_ssd_cache');
  t.equal(c.pegaflow.ssdCacheCapacity.text, '100gb');
  t.equal(c.thresholds.maxTtftS, 0.22);
  t.equal(c.thresholds.minSpeedup, 1.2);
  t.equal(c.vllm.maxNumSeqs, 8);
  t.equal(c.vllm.maxModelLen, 32768);
  t.equal(c.timeouts.serverStartupS, 600);
  t.equal(c.results.buildId, '20261122-030405');
  t.match(c.results.dir, /results\/20261122-030405$/);
  t.same(c.suite.tests, ['lm-eval', 'long-doc', 'share-gpt']);
  t.ok(c.suite.startBaseline);
  // The full suite's smaller workloads, as the bash run-all-tests passed them.
  t.equal(c.lmEval.limit, 50);
  t.equal(c.longDoc.numRequests, 30);
  t.equal(c.shareGpt.numConversations, 20);
  t.equal(c.shareGpt.maxTurns, 3);
  const alone = resolve('run-long-doc-qa', [], { MODEL: 'm' });
  t.equal(alone.longDoc.numRequests, 50, 'a test script alone keeps its own default');
  t.equal(alone.longDoc.maxInflight, 10);
  t.equal(alone.longDoc.requestRate, 2);
  t.equal(alone.longDoc.outputLen, 128);
});

t.test('the sim stack needs no MODEL and points at the simulated binaries', async (t) => {
  const c = resolve('run-all-tests', ['--stack', 'sim'], {});
  t.equal(c.model, 'kvgate/sim-qwen3-8b');
  t.match(c.vllm.bin, /src\/sim\/bin\/vllm\.ts$/);
  t.match(c.pegaflow.bin, /src\/sim\/bin\/pegaflow-server\.ts$/);
  t.equal(c.lmEval.task, 'kvgate_gsm8k_mini');
  t.match(c.lmEval.includePath ?? '', /datasets\/lm_eval$/);
  t.equal(resolve('run-all-tests', [], { STACK: 'sim' }).stack, 'sim', 'STACK env works too');
});

t.test('flags win over env vars; --quick drops the baseline everywhere', async (t) => {
  const c = resolve('run-long-doc-qa', ['--num-requests', '7', '--max-concurrency=3', '--skip-baseline'], { MODEL: 'm', LONG_DOC_NUM_REQUESTS: '99' });
  t.equal(c.longDoc.numRequests, 7);
  t.equal(c.longDoc.maxInflight, 3, 'the bash name --max-concurrency is an alias of --max-inflight');
  t.ok(c.longDoc.skipBaseline);
  const q = resolve('run-all-tests', ['--quick'], { MODEL: 'm' });
  t.notOk(q.suite.startBaseline);
  t.ok(q.longDoc.skipBaseline && q.shareGpt.skipBaseline && q.lmEval.skipBaseline);
  const sel = resolve('run-all-tests', ['--skip-lm-eval'], { MODEL: 'm' });
  t.same(sel.suite.tests, ['long-doc', 'share-gpt']);
  t.same(resolve('run-all-tests', ['--share-gpt-only'], { MODEL: 'm' }).suite.tests, ['share-gpt']);
  const thresholds = resolve('run-share-gpt', ['--max-ttft', '0.5'], { MODEL: 'm', MIN_SPEEDUP_RATIO: '2' });
  t.equal(thresholds.shareGpt.maxTtftS, 0.5, 'per-test threshold');
  t.equal(thresholds.shareGpt.minSpeedup, 2, 'falls back to the global one');
});

t.test('bad values are rejected naming the variable, the value and what is expected', async (t) => {
  t.same(problems('run-all-tests', [], { MODEL: 'm', MAX_PEGAFLOW_TTFT: 'abc' }), ['MAX_PEGAFLOW_TTFT=abc: expected seconds, a number > 0 (e.g. 0.22)']);
  t.same(problems('run-all-tests', [], { MODEL: 'm', VLLM_PORT: '70000' }), ['VLLM_PORT=70000: expected a TCP port (whole number from 1 to 65535)']);
  t.same(problems('run-all-tests', [], { MODEL: 'm', PEGA_POOL_SIZE: '50 gigs' }), ['PEGA_POOL_SIZE=50 gigs: expected a size: a number with b, kb, mb, gb or tb (e.g. 50gb, 512mb)']);
  t.same(problems('run-all-tests', [], { MODEL: 'm', SERVER_STARTUP_TIMEOUT: '-5' }), ['SERVER_STARTUP_TIMEOUT=-5: expected a duration: seconds, or a number with ms, s, m or h (e.g. 600, 30s, 10m)']);
  t.same(problems('run-all-tests', [], { MODEL: 'm', STACK: 'docker' }), ['STACK=docker: expected one of real, sim']);
  t.same(problems('run-long-doc-qa', ['--ttft-stat', 'p95'], { MODEL: 'm' }), ['--ttft-stat=p95: expected one of mean, p50, p90, p99']);
  t.same(problems('run-long-doc-qa', ['--max-failure-rate', '1.5'], { MODEL: 'm' }), ['--max-failure-rate=1.5: expected a fraction from 0 to 1 (e.g. 0.05)']);
  t.same(problems('run-all-tests', [], { MODEL: 'm', VLLM_EXTRA_ARGS: `--x 'open` }), [`VLLM_EXTRA_ARGS=--x 'open: expected arguments with balanced quotes`]);
});

t.test('every problem is reported at once', async (t) => {
  const p = problems('run-long-doc-qa', ['--num-requests', '0', '--request-rate', '-1'], { MODEL: 'm', PEGA_POOL_SIZE: '12zb' });
  t.equal(p.length, 3);
  t.match(p.join('\n'), /--num-requests=0: expected a whole number from 1 up/);
  t.match(p.join('\n'), /--request-rate=-1/);
});

t.test('cross-field and file checks', async (t) => {
  t.same(problems('run-all-tests', [], {}), ['MODEL: required: set MODEL to a model path or Hugging Face id (or use --stack sim)']);
  t.match(problems('run-all-tests', [], { MODEL: 'm', VLLM_BASELINE_PORT: '8000' }).join(), /VLLM_BASELINE_PORT=8000: same port as VLLM_PORT/);
  t.match(problems('run-all-tests', [], { MODEL: '/no/such/model' }).join(), /MODEL=\/no\/such\/model: looks like a path but does not exist/);
  t.match(problems('run-long-doc-qa', ['--data-file', '/no/prompts.json'], { MODEL: 'm' }).join(), /--data-file=\/no\/prompts.json: data file not found/);
  t.match(problems('run-all-tests', [], { MODEL: 'm', CHAT_TEMPLATE: '/nope.jinja' }).join(), /CHAT_TEMPLATE=\/nope.jinja: chat template file not found/);
  t.match(problems('run-all-tests', ['--lm-eval-only', '--long-doc-only'], { MODEL: 'm' }).join(), /choose at most one/);
  t.match(problems('run-all-tests', ['--skip-lm-eval', '--skip-long-doc', '--skip-share-gpt'], { MODEL: 'm' }).join(), /every test is skipped/);
  t.match(problems('run-all-tests', ['--compare-to', '/tmp'], { MODEL: 'm' }).join(), /no summary.json in \/tmp/);
});

t.test('a script ignores bad env vars of groups it does not read', async (t) => {
  t.same(problems('run-lm-eval', [], { MODEL: 'm', LONG_DOC_NUM_REQUESTS: 'lots' }), []);
  t.match(problems('run-long-doc-qa', [], { MODEL: 'm', LONG_DOC_NUM_REQUESTS: 'lots' }).join(), /LONG_DOC_NUM_REQUESTS=lots/);
});

t.test('unknown flags and missing values are usage errors', async (t) => {
  t.throws(() => parseArgs('run-all-tests', ['--bogus']), new UsageError('unknown option --bogus'));
  t.throws(() => parseArgs('run-all-tests', ['--num-requests', '3']), new UsageError('unknown option --num-requests'), 'a test-script flag is not a run-all-tests flag');
  t.throws(() => parseArgs('run-long-doc-qa', ['--num-requests']), new UsageError('option --num-requests needs a value'));
  t.throws(() => parseArgs('run-all-tests', ['--quick=yes']), new UsageError('option --quick takes no value (got "--quick=yes")'));
  t.throws(() => parseArgs('run-all-tests', ['extra'], { maxPositionals: 0 }), new UsageError('unexpected argument: extra'));
  t.ok(parseArgs('run-all-tests', ['-h']).help);
});

t.test('each script maps every flag spelling to one option, and --help lists them all with env vars', async (t) => {
  for (const script of SCRIPTS) {
    const flags = flagsFor(script); // throws on a clash
    const text = usage(script, { synopsis: script, description: '' });
    for (const name of flags.keys()) t.ok(text.includes(name), `${script} --help shows ${name}`);
  }
  const all = usage('run-all-tests', { synopsis: 'x', description: '' });
  for (const spec of Object.values(OPTIONS)) {
    if ('env' in spec && spec.env && !['self-test'].includes(spec.group)) t.ok(all.includes(spec.env), `run-all-tests --help lists ${spec.env}`);
  }
});

t.test('build ids are timestamps YYYYmmdd-HHMMSS', async (t) => {
  t.equal(timestampBuildId(new Date(2026, 0, 2, 3, 4, 5)), '20260102-030405');
});

t.test('the internal check switch takes known criterion ids only', async (t) => {
  t.same(resolve('run-all-tests', ['--stack', 'sim'], { KVGATE_INTERNAL_DISABLE_CHECKS: 'cache-used, ttft' }).thresholds.disabledChecks, ['cache-used', 'ttft']);
  t.same(resolve('run-all-tests', ['--stack', 'sim']).thresholds.disabledChecks, [], 'off by default');
  t.match(problems('run-all-tests', ['--stack', 'sim'], { KVGATE_INTERNAL_DISABLE_CHECKS: 'cache' }).join('\n'), /KVGATE_INTERNAL_DISABLE_CHECKS=cache: expected a comma-separated list of failures, ttft/);
});

t.test('self-test options: scenarios, repeat and jobs validated; no --stack (it always runs the sim)', async (t) => {
  const cfg = resolve('self-test', ['--scenario', 'slow-load,drop-saves', '--repeat', '3', '--jobs', '2']);
  t.same(cfg.selfTest, { scenarios: ['slow-load', 'drop-saves'], list: false, repeat: 3, jobs: 2 });
  t.equal(resolve('self-test', []).selfTest.jobs, undefined, 'jobs default: decided from the CPU count');
  t.throws(() => parseArgs('self-test', ['--stack', 'sim']), { message: 'unknown option --stack' });
  t.match(problems('self-test', ['--jobs', '0'], {}).join('\n'), /--jobs=0: expected a whole number from 1 to 64/);
});
