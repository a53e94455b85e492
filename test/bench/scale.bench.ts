// Scale: 1000 concurrent streams, 10 000 requests through kvgate's pass runner
// and streaming client against the simulated vLLM (own process, so its CPU
// and memory are not counted here) with a fixed TTFT and ITL. Reports the
// TTFT the client adds (measured − injected) and this process's peak RSS
// (process.memoryUsage.rss() sampled every 20 ms, and VmHWM). A raw-socket
// client (raw-floor.ts) then runs the same load, for the share of the added
// TTFT that is the server's and the loopback's, not the client's.
//
//   npm run bench:scale [-- --streams 1000 --requests 10000 --ttft-ms 50 --itl-ms 40 --max-tokens 16]
import { runPass } from '../../src/workloads/pass-runner.ts';
import { closeDefaultDispatcher } from '../../src/workloads/client/agent.ts';
import type { RequestInput } from '../../src/workloads/client/types.ts';
import { runFloor } from './raw-floor.ts';
import { describeMachine, dist, machineInfo, type Dist, ms, numberFlag, pass, SIM_MODEL, startSimVllmProcess, table, vmHwmBytes, writeBenchResult } from './lib.ts';

const argv = process.argv.slice(2);
const streams = numberFlag(argv, 'streams', 1000);
const requests = numberFlag(argv, 'requests', 10_000);
const ttftMs = numberFlag(argv, 'ttft-ms', 50);
const itlMs = numberFlag(argv, 'itl-ms', 40);
const maxTokens = numberFlag(argv, 'max-tokens', 16);
const PROMPT = 'Tell me about the weather today.';
const MB = 2 ** 20;
const ADDED_P99_TARGET_MS = 2;
const RSS_TARGET_MB = 300;

interface PassFigures {
  requests: number;
  failed: number;
  durationS: number;
  reqPerS: number;
  addedTtftMs: Dist;
}

function inputs(n: number, prefix: string): RequestInput[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, endpoint: 'chat', messages: [{ role: 'user', content: PROMPT }], maxTokens, temperature: 0 }));
}

/** Peak of process.memoryUsage.rss() and heapUsed, sampled every `everyMs`. */
function memorySampler(everyMs: number) {
  let rss = 0;
  let heap = 0;
  const sample = () => {
    rss = Math.max(rss, process.memoryUsage.rss());
    heap = Math.max(heap, process.memoryUsage().heapUsed);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakRssBytes: rss, peakHeapUsedBytes: heap };
    },
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  process.stdout.write(
    `scale: ${streams} concurrent streams, ${requests} requests; injected TTFT ${ttftMs} ms, ITL ${itlMs} ms, ${maxTokens} tokens per request\nmachine: ${describeMachine(machine)}\n`,
  );
  const server = await startSimVllmProcess('scale', { ttftMs, itlMs });
  const startRssBytes = process.memoryUsage.rss();
  const startHwmBytes = vmHwmBytes();
  const common = { baseUrl: server.url, model: SIM_MODEL, timeoutS: 300, maxInflight: streams, requestRate: Infinity, seed: 0 };
  let result: PassFigures & { errors: string[]; cpuS: number; cpuShareOfOneCore: number };
  let memory;
  let floor: PassFigures;
  try {
    // The server's JIT first (raw client, not measured): a cold sim server alone reads p99 140-180 ms here.
    process.stdout.write(`  server warm-up (raw socket client): ${3 * streams} requests…\n`);
    await runFloor(Number(new URL(server.url).port), SIM_MODEL, PROMPT, maxTokens, streams, 3 * streams);
    const mem = memorySampler(20);
    // Two unmeasured rounds open the connections and warm this process's JIT; their memory stays counted (sockets are kept alive).
    process.stdout.write(`  warm-up: ${2 * streams} requests…\n`);
    await runPass(inputs(2 * streams, 'w'), common);
    process.stdout.write(`  measured: ${requests} requests…\n`);
    const cpu0 = process.cpuUsage();
    const { records, durationS } = await runPass(inputs(requests, 'r'), common);
    const cpu = process.cpuUsage(cpu0);
    memory = { ...mem.stop(), vmHwmBytes: vmHwmBytes(), startRssBytes, startVmHwmBytes: startHwmBytes };
    const ok = records.filter((r) => r.ok);
    result = {
      requests: records.length,
      failed: records.length - ok.length,
      errors: [...new Set(records.filter((r) => !r.ok).map((r) => r.error?.message ?? 'no TTFT'))].slice(0, 5),
      durationS,
      reqPerS: records.length / durationS,
      addedTtftMs: dist(ok.map((r) => r.ttftS! * 1000 - ttftMs)),
      /** CPU this process used during the measured pass, and as a share of one core over the pass. */
      cpuS: (cpu.user + cpu.system) / 1e6,
      cpuShareOfOneCore: (cpu.user + cpu.system) / 1e6 / durationS,
    };
    await closeDefaultDispatcher();
    process.stdout.write(`  floor (raw socket client): ${requests} requests…\n`);
    const f = await runFloor(Number(new URL(server.url).port), SIM_MODEL, PROMPT, maxTokens, streams, requests);
    // (the floor runs last, on a server as warm as the one kvgate's measured pass met)
    floor = { requests, failed: f.failed, durationS: f.wallS, reqPerS: requests / f.wallS, addedTtftMs: dist(f.ttftMs.map((v) => v - ttftMs)) };
  } finally {
    await closeDefaultDispatcher();
    await server.stop();
  }

  const row = (name: string, r: PassFigures) => [name, r.requests, r.failed, ms(r.addedTtftMs.p50), ms(r.addedTtftMs.p90), ms(r.addedTtftMs.p99), ms(r.addedTtftMs.max), r.reqPerS.toFixed(0)];
  process.stdout.write(`\nAdded TTFT (measured − injected ${ttftMs} ms), ms, ${streams} streams\n`);
  process.stdout.write(
    table(['client', 'requests', 'failed', 'p50', 'p90', 'p99', 'max', 'req/s'], [row('kvgate pass runner + stream-client', result), row('floor: raw socket client', floor)]) + '\n',
  );
  process.stdout.write(`\nkvgate's CPU during the measured pass: ${result.cpuS.toFixed(1)} s over ${result.durationS.toFixed(1)} s (${(100 * result.cpuShareOfOneCore).toFixed(0)} % of one core)\n`);
  const mb = (b: number | undefined) => (b === undefined ? '–' : (b / MB).toFixed(0));
  process.stdout.write(`\nHarness process memory, MB\n`);
  process.stdout.write(
    table(
      ['measure', 'MB'],
      [
        ['RSS before the passes', mb(memory.startRssBytes)],
        ['peak RSS (sampled every 20 ms)', mb(memory.peakRssBytes)],
        ['VmHWM (kernel peak RSS) after the measured pass', mb(memory.vmHwmBytes)],
        ['peak heapUsed (sampled)', mb(memory.peakHeapUsedBytes)],
      ],
    ) + '\n',
  );
  const peakRss = Math.max(memory.peakRssBytes, memory.vmHwmBytes ?? 0);
  const targets = [
    { target: `${streams} streams: added TTFT p99 < ${ADDED_P99_TARGET_MS} ms`, measured: ms(result.addedTtftMs.p99), met: (result.addedTtftMs.p99 ?? Infinity) < ADDED_P99_TARGET_MS },
    { target: `peak RSS ≤ ${RSS_TARGET_MB} MB at ${requests} requests`, measured: mb(peakRss), met: peakRss <= RSS_TARGET_MB * MB },
    { target: 'no failed requests', measured: String(result.failed), met: result.failed === 0 },
  ];
  process.stdout.write('\nTargets\n' + table(['target', 'measured', ''], targets.map((t) => [t.target, t.measured, pass(t.met)])) + '\n');
  if (machine.nproc <= 4) {
    process.stdout.write(
      `\nNote: ${machine.nproc} CPU(s): the simulated server (busy-waiting for its deadlines) and this client compete for them, so the added TTFT\n` +
        `includes CPU contention. The floor row is the server's and the loopback's share under the same load.\n`,
    );
  }
  const file = await writeBenchResult('scale', {
    benchmark: 'scale',
    date: new Date().toISOString(),
    machine,
    injected: { ttftMs, itlMs, maxTokens },
    streams,
    kvgate: result,
    floor,
    memory,
    targets,
  });
  process.stdout.write(`written: ${file}\n`);
}

await main();
