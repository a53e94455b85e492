// `vllm …` argument parsing, in-process and through the executable.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { parseCli, USAGE } from '../../src/sim/vllm/cli.ts';
import { VLLM_BIN } from './vllm-helpers.ts';

const env = {};

t.test('--disable-log-requests is rejected like vLLM >= 0.12: usage line, unrecognized arguments, exit 2', async (t) => {
  const r = parseCli(['serve', 'm', '--port', '8000', '--disable-log-requests'], env);
  t.equal(r.kind, 'exit');
  if (r.kind !== 'exit') return;
  t.equal(r.code, 2);
  t.equal(r.stderr, `${USAGE}\nvllm serve: error: unrecognized arguments: --disable-log-requests\n`);
  t.equal(r.stdout, undefined);
});

t.test('the executable prints the same rejection on stderr and exits 2', async (t) => {
  const r = spawnSync(VLLM_BIN, ['serve', 'kvgate/sim', '--disable-log-requests'], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.equal(r.stderr, 'usage: vllm serve [model_tag] [options]\nvllm serve: error: unrecognized arguments: --disable-log-requests\n');
  t.equal(r.stdout, '');
});

t.test('unknown flags with values and stray positionals are all listed, as argparse does', async (t) => {
  const r = parseCli(['serve', 'm', '--foo', 'bar', '--port=1'], env);
  t.equal(r.kind === 'exit' && r.stderr, `${USAGE}\nvllm serve: error: unrecognized arguments: --foo bar\n`);
});

t.test('values are type-checked and missing values are errors', async (t) => {
  const bad = parseCli(['serve', 'm', '--port', 'abc'], env);
  t.equal(bad.kind === 'exit' && bad.code, 2);
  t.match(bad.kind === 'exit' && bad.stderr, /argument --port: invalid int value: 'abc'/);
  const missing = parseCli(['serve', 'm', '--port'], env);
  t.match(missing.kind === 'exit' && missing.stderr, /argument --port: expected one argument/);
  const json = parseCli(['serve', 'm', '--kv-transfer-config', '{not json'], env);
  t.match(json.kind === 'exit' && json.stderr, /argument --kv-transfer-config: invalid loads value/);
  const fault = parseCli(['serve', 'm', '--sim-faults', 'melt-down'], env);
  t.match(fault.kind === 'exit' && fault.stderr, /unknown fault "melt-down"/);
});

t.test('the real flags are accepted: --flag value, --flag=value, underscores, -tp, --no-enable-prefix-caching, prefixes', async (t) => {
  const r = parseCli(
    [
      'serve', 'Qwen/Qwen3-8B',
      '--host', '127.0.0.1', '--port=8123', '--served-model-name', 'qwen', 'alias',
      '--max_num_seqs', '8', '--max-model-len', '4096', '--max-num-batched-tokens', '2048', '-tp', '2',
      '--gpu-memory-utilization', '0.8', '--seed', '7', '--chat-template', '/x.jinja', '--trust-remote-code',
      '--no-enable-prefix-caching', '--kv-transfer-config', '{"kv_connector":"PegaKVConnector","kv_role":"kv_both"}',
      '--block-size', '32', '--num-gpu-blocks-override', '100', '--enable-prompt-tokens-details',
      '--enable-log-requests', '--disable-log-stats', '--dtype', 'bfloat16', '--api-key', 'k',
      '--sim-faults', 'error-rate=0.5', '--sim-faults', 'cut-stream', '--sim-fault-seed', '3', '--sim-startup-delay-s', '0.5',
      '--sim-prefill-us-per-token', '100', '--max-num-b', '1024',
    ],
    env,
  );
  t.equal(r.kind, 'serve', r.kind === 'exit' ? (r.stderr ?? '') : '');
  if (r.kind !== 'serve') return;
  const o = r.options;
  t.equal(o.model, 'Qwen/Qwen3-8B');
  t.same(o.servedModelNames, ['qwen', 'alias']);
  t.equal(o.host, '127.0.0.1');
  t.equal(o.port, 8123);
  t.equal(o.maxNumSeqs, 8);
  t.equal(o.maxModelLen, 4096);
  t.equal(o.maxNumBatchedTokens, 1024, 'an unambiguous prefix (--max-num-b) names its flag; the last value wins');
  t.equal(o.tensorParallelSize, 2);
  t.equal(o.seed, 7);
  t.equal(o.enablePrefixCaching, false);
  t.same(o.kvTransferConfig, { kv_connector: 'PegaKVConnector', kv_role: 'kv_both' });
  t.equal(o.blockSize, 32);
  t.equal(o.numGpuBlocks, 100);
  t.equal(o.enablePromptTokensDetails, true);
  t.equal(o.enableLogRequests, true);
  t.equal(o.disableLogStats, true);
  t.equal(o.apiKey, 'k');
  t.same(o.faultSpecs, ['error-rate=0.5', 'cut-stream']);
  t.equal(o.faultSeed, 3);
  t.equal(o.startupDelayS, 0.5);
  t.equal(o.latency.prefillUsPerToken, 100);
  t.same(r.ignoredFlags.sort(), ['--dtype', '--gpu-memory-utilization', '--tensor-parallel-size', '--trust-remote-code'].sort());
});

t.test('an ambiguous prefix is an error', async (t) => {
  const r = parseCli(['serve', 'm', '--enable-p'], env);
  t.match(r.kind === 'exit' && r.stderr, /ambiguous option: --enable-p could match/);
});

t.test('faults and their seed also come from KVGATE_SIM_FAULTS and KVGATE_SIM_FAULT_SEED', async (t) => {
  const r = parseCli(['serve', 'm', '--sim-faults', 'cut-stream'], { KVGATE_SIM_FAULTS: 'error-rate=1', KVGATE_SIM_FAULT_SEED: '9' });
  t.equal(r.kind, 'serve');
  if (r.kind !== 'serve') return;
  t.same(r.options.faultSpecs, ['error-rate=1', 'cut-stream']);
  t.equal(r.options.faultSeed, 9);
});

t.test('vllm --version prints a version; serve --help lists every flag, simulation flags under "Simulation"', async (t) => {
  const v = spawnSync(VLLM_BIN, ['--version'], { encoding: 'utf8' });
  t.equal(v.status, 0);
  t.match(v.stdout.trim(), /^\d+\.\d+\.\d+\+kvgate\.sim$/);
  const help = spawnSync(VLLM_BIN, ['serve', '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  t.match(help.stdout, /^usage: vllm serve \[model_tag\] \[options\]/);
  for (const flag of ['--host', '--port', '--served-model-name', '--max-num-seqs', '--max-model-len', '--max-num-batched-tokens', '--tensor-parallel-size', '--gpu-memory-utilization', '--seed', '--chat-template', '--trust-remote-code', '--no-enable-prefix-caching', '--kv-transfer-config', '--block-size', '--num-gpu-blocks-override', '--enable-prompt-tokens-details', '--enable-log-requests', '--disable-log-stats', '--dtype', '--api-key']) {
    t.ok(help.stdout.includes(flag), `help lists ${flag}`);
  }
  t.notOk(help.stdout.includes('--disable-log-requests'), 'help does not list the removed flag');
  t.match(help.stdout, /\nSimulation:\n[\s\S]*--sim-faults LIST[\s\S]*--sim-startup-delay-s/);
  const all = spawnSync(VLLM_BIN, ['serve', '--help=all'], { encoding: 'utf8' });
  t.equal(all.status, 0, '--help=all works too (kvgate probes it first)');
  t.ok(all.stdout.includes('--enable-prompt-tokens-details'));
});

t.test('subcommands other than serve are refused with exit 2', async (t) => {
  const r = parseCli(['frobnicate'], env);
  t.equal(r.kind === 'exit' && r.code, 2);
  t.match(r.kind === 'exit' && r.stderr, /invalid choice: 'frobnicate'/);
});
