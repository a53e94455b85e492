import t from 'tap';
import { parseArgs } from '../../src/config/args.ts';
import { resolveConfig, type KvgateConfig } from '../../src/config/config.ts';
import { buildPegaflowCommand, DIALECT_FLAGS, flagsFromPegaflowHelp } from '../../src/stack/launchers/pegaflow.ts';
import { buildVllmCommand, flagsFromHelp, kvTransferConfig, visibleDevices } from '../../src/stack/launchers/vllm.ts';
import { parseNvidiaSmiList, placeBaseline } from '../../src/stack/launchers/gpus.ts';

function cfg(env: Record<string, string> = {}): KvgateConfig {
  return resolveConfig('run-all-tests', parseArgs('run-all-tests', []), {
    env: { MODEL: 'Qwen/Qwen3-8B', SHARE_GPT_DATASET: 'package.json', ...env },
    repoRoot: process.cwd(),
  });
}

t.test('pegaflow-server command line, newer dialect', async (t) => {
  const spec = buildPegaflowCommand(cfg({ PEGA_DEVICE: '2', PEGA_EXTRA_ARGS: '--log-level debug' }), DIALECT_FLAGS.current, '/r/logs/pegaflow-server.log');
  t.equal(spec.command, 'pegaflow-server');
  t.same(spec.args, [
    '--addr', '127.0.0.1:50055',
    '--devices', '0',
    '--pool-size', '50gb',
    '--http-addr', '127.0.0.1:9091',
    '--ssd-cache-path', '/tmp/pegaflow_ci_ssd_cache',
    '--ssd-cache-capacity', '100gb',
    '--log-level', 'debug',
  ]);
  t.same(spec.env, { CUDA_VISIBLE_DEVICES: '2' }, 'the server sees only its GPU, as device 0');
});

t.test('pegaflow-server command line, older dialect; SSD tier off', async (t) => {
  const spec = buildPegaflowCommand(cfg({ PEGA_SSD_CACHE_PATH: 'none', PEGA_POOL_SIZE: '8gb', PEGA_PORT: '6000', PEGA_METRICS_PORT: '6001' }), DIALECT_FLAGS.legacy, '/r/l.log');
  t.same(spec.args, ['--addr', '127.0.0.1:6000', '--device', '0', '--pool-size', '8gb', '--metrics-addr', '127.0.0.1:6001']);
});

t.test('flag detection reads --help, flag by flag', async (t) => {
  t.same(flagsFromPegaflowHelp('Options:\n  --addr <ADDR>\n  --devices <DEVICES>\n  --http-addr <HTTP_ADDR>\n'), DIALECT_FLAGS.current);
  t.same(flagsFromPegaflowHelp('Options:\n  --addr <ADDR>\n  --device <DEVICE>\n  --metrics-addr <ADDR>\n'), DIALECT_FLAGS.legacy);
  // Builds of 28 Jan – 3 Feb 2026 already had --devices but still --metrics-addr.
  t.same(flagsFromPegaflowHelp('  --devices <DEVICES>\n  --metrics-addr <ADDR>\n'), { device: '--devices', http: '--metrics-addr' });
  t.equal(flagsFromPegaflowHelp('error: something else'), undefined);
});

t.test('connector vLLM command line and env', async (t) => {
  const c = cfg({ VLLM_EXTRA_ARGS: '--gpu-memory-utilization 0.8', CHAT_TEMPLATE: 'package.json' });
  const caps = { flags: flagsFromHelp('--port --enable-prompt-tokens-details --max-num-seqs'), version: '0.33.0' };
  const spec = buildVllmCommand(c, 'vllm-pegaflow', 0, caps, '/r/logs/vllm-pegaflow.log');
  t.equal(spec.command, 'vllm');
  t.same(spec.args, [
    'serve', 'Qwen/Qwen3-8B',
    '--served-model-name', 'Qwen/Qwen3-8B',
    '--trust-remote-code',
    '--host', '127.0.0.1',
    '--port', '8000',
    '--max-num-seqs', '8',
    '--max-model-len', '32768',
    '--tensor-parallel-size', '1',
    '--chat-template', c.chatTemplate!,
    '--enable-prompt-tokens-details',
    '--kv-transfer-config', kvTransferConfig(c),
    '--gpu-memory-utilization', '0.8',
  ]);
  t.same(spec.env, { CUDA_VISIBLE_DEVICES: '0', VLLM_SERVER_DEV_MODE: '1' });
  t.notOk(spec.args.includes('--disable-log-requests'), 'never passes the flag vLLM 0.12 removed');
  t.same(JSON.parse(kvTransferConfig(c)), {
    kv_connector: 'PegaKVConnector',
    kv_role: 'kv_both',
    kv_connector_module_path: 'pegaflow.connector',
    kv_connector_extra_config: { 'pegaflow.host': 'http://127.0.0.1', 'pegaflow.port': 50055 },
  });
});

t.test('baseline vLLM: no connector, its own port, GPU and extra args; optional flags only when accepted', async (t) => {
  const c = cfg({ VLLM_BASELINE_EXTRA_ARGS: '--seed 1', TENSOR_PARALLEL_SIZE: '2' });
  const spec = buildVllmCommand(c, 'vllm-baseline', 2, { flags: new Set(['--port']), version: undefined }, '/r/b.log');
  t.notOk(spec.args.includes('--kv-transfer-config'));
  t.notOk(spec.args.includes('--enable-prompt-tokens-details'), 'not listed by this vLLM, so not passed');
  t.equal(spec.args[spec.args.indexOf('--port') + 1], '9000');
  t.same(spec.args.slice(-2), ['--seed', '1']);
  t.equal(spec.env['CUDA_VISIBLE_DEVICES'], '2,3', 'tensor parallel takes consecutive GPUs');
  t.equal(visibleDevices(4, 1), '4');
});

t.test('baseline placement follows nvidia-smi -L', async (t) => {
  t.same(placeBaseline(0, 1, 2, 'auto'), { device: 1 }, 'GPU 1 when two GPUs');
  t.same(placeBaseline(0, 1, 8, 'auto'), { device: 1 });
  const one = placeBaseline(0, 1, 1, 'auto');
  t.equal(one.device, 0, 'same GPU when only one');
  t.match(one.warning ?? '', /shares GPU 0/);
  t.same(placeBaseline(0, 2, 4, 'auto'), { device: 2 }, 'tp=2: after the connector\'s two GPUs');
  t.same(placeBaseline(0, 1, 1, 5), { device: 5 }, 'VLLM_BASELINE_DEVICE wins');
  t.same(parseNvidiaSmiList('GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)\n').length, 2);
});
