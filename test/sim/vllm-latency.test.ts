// The latency model, measured like the harness measures it: TTFT from sending
// the request to the first chunk with generated text. Bounds are wide on
// purpose (a loaded CI machine adds latency); the README has the arithmetic.
import t from 'tap';
import { createMemoryLogger } from '../../src/sim/pegaflow/log.ts';
import { startSimPegaflow } from '../../src/sim/pegaflow/server.ts';
import { DEFAULT_LATENCY, stepMs } from '../../src/sim/vllm/scheduler.ts';
import { countTokens } from '../../src/sim/vllm/tokenizer.ts';
import { metric, MODEL, postJson, scrape, startVllm, waitFor, type Server } from './vllm-helpers.ts';

/** A document of exactly `tokens` simulated tokens. */
function documentOf(tokens: number, seed: number): string {
  const words = 'alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega'.split(' ');
  const parts = ["Document"];
  let x = seed;
  while (parts.length < tokens) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    parts.push(` ${words[x % words.length]}`);
  }
  const text = parts.join('');
  if (countTokens(text) !== tokens) throw new Error(`document has ${countTokens(text)} tokens, wanted ${tokens}`);
  return text;
}

interface Timed {
  ttftS: number;
  itlS: number[];
  text: string;
}

async function streamTimed(srv: Server, prompt: string, maxTokens = 8): Promise<Timed> {
  const sent = performance.now();
  const res = await fetch(`${srv.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: maxTokens, temperature: 0, stream: true }),
  });
  const decoder = new TextDecoder();
  let buf = '';
  let text = '';
  let first: number | undefined;
  let last = 0;
  const itl: number[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line === 'data: [DONE]') continue;
      const piece = (JSON.parse(line.slice(6)) as { choices: { text: string }[] }).choices[0]?.text ?? '';
      if (piece === '') continue;
      const now = performance.now();
      if (first === undefined) first = now;
      else itl.push((now - last) / 1000);
      last = now;
      text += piece;
    }
  }
  return { ttftS: (first! - sent) / 1000, itlS: itl, text };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

t.test('the step-time formula with the defaults', async (t) => {
  t.equal(stepMs(DEFAULT_LATENCY, 8192, 0), 4 + 655.36, 'a full prefill chunk');
  t.equal(stepMs(DEFAULT_LATENCY, 0, 1), 4 + 8 + 0.2, 'one decode');
  t.equal(stepMs(DEFAULT_LATENCY, 100, 10), 4 + 8 + 2 + 8, 'mixed');
});

t.test('a 10 000-token document: cold TTFT ~0.8 s, warm through PegaFlow ~0.1 s, GPU hit faster still', async (t) => {
  const logger = createMemoryLogger('info');
  const pf = await startSimPegaflow({ grpcAddr: { host: '127.0.0.1', port: 0 }, httpAddr: { host: '127.0.0.1', port: 0 }, startupDelayS: 0 }, { logger });
  t.teardown(() => pf.close());
  const kvt = JSON.stringify({ kv_connector: 'PegaKVConnector', kv_role: 'kv_both', kv_connector_extra_config: { 'pegaflow.host': 'http://127.0.0.1', 'pegaflow.port': pf.grpcPort } });
  const srv = await startVllm(t, ['--kv-transfer-config', kvt], { VLLM_SERVER_DEV_MODE: '1' });
  const cold: number[] = [];
  const warm: number[] = [];
  const gpu: number[] = [];
  for (let d = 0; d < 3; d++) {
    const doc = documentOf(10_000, d + 1);
    const c = await streamTimed(srv, doc);
    const g = await streamTimed(srv, doc);
    await waitFor(async () => ((await postJson(`${srv.url}/reset_prefix_cache`, {})).json as { success: boolean }).success, 5_000, 'the reset');
    const w = await streamTimed(srv, doc);
    t.equal(w.text, c.text, `document ${d}: warm answer equals cold answer`);
    t.equal(g.text, c.text, `document ${d}: GPU-hit answer equals cold answer`);
    cold.push(c.ttftS);
    warm.push(w.ttftS);
    gpu.push(g.ttftS);
  }
  const m = { cold: median(cold), warm: median(warm), gpu: median(gpu) };
  t.comment(`median TTFT: cold ${m.cold.toFixed(3)} s, warm (PegaFlow) ${m.warm.toFixed(3)} s, GPU hit ${m.gpu.toFixed(3)} s`);
  t.ok(m.cold >= 0.75 && m.cold < 2.0, `cold ${m.cold.toFixed(3)} s: two prefill steps of 8192 + 1808 tokens ≈ 0.81 s`);
  t.ok(m.warm >= 0.065 && m.warm < 0.2, `warm ${m.warm.toFixed(3)} s: 624 blocks loaded at 100 µs + one 16-token step`);
  t.ok(m.gpu < m.warm, `GPU hit ${m.gpu.toFixed(3)} s is faster than a PegaFlow load`);
  t.ok(m.cold / m.warm > 4, `speed-up ${(m.cold / m.warm).toFixed(1)}x`);
  const s = await scrape(srv.url);
  t.equal(metric(s, 'vllm:external_prefix_cache_hits_total'), 3 * 624 * 16);
});

t.test('decode steps pace tokens at ~12 ms (8 ms base + 4 ms overhead + 0.2 ms per sequence)', async (t) => {
  const srv = await startVllm(t);
  const r = await streamTimed(srv, 'Tell me a long story.', 40);
  const itl = median(r.itlS);
  t.ok(itl >= 0.011 && itl < 0.03, `median inter-token latency ${(itl * 1000).toFixed(1)} ms`);
});

t.test('requests beyond --max-num-seqs wait in the queue', async (t) => {
  const srv = await startVllm(t, ['--max-num-seqs', '1']);
  const long = postJson(`${srv.url}/v1/completions`, { model: MODEL, prompt: 'first', max_tokens: 40, temperature: 0, ignore_eos: true });
  await new Promise((r) => setTimeout(r, 60));
  const started = performance.now();
  const second = postJson(`${srv.url}/v1/completions`, { model: MODEL, prompt: 'second', max_tokens: 1, temperature: 0 });
  await waitFor(async () => metric(await scrape(srv.url), 'vllm:num_requests_waiting') === 1, 2_000, 'one waiting request');
  const m = await scrape(srv.url);
  t.equal(metric(m, 'vllm:num_requests_running'), 1, 'one running');
  t.equal(metric(m, 'vllm:num_requests_waiting'), 1, 'one waiting');
  await long;
  await second;
  t.ok(performance.now() - started > 0.2 * 1000, 'the second request waited for the first to finish');
});
