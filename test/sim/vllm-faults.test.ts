// Faults of the simulated vLLM, each through the executable as the harness
// would meet it.
import t from 'tap';
import { alive, engineCorePid, exitWithin, longDocument, MODEL, postJson, postSse, startVllm } from './vllm-helpers.ts';

const chat = (url: string) => `${url}/v1/chat/completions`;
const cmpl = (url: string) => `${url}/v1/completions`;

t.test('error-rate=1: every completion request answers 500 with vLLM\'s error body', async (t) => {
  const srv = await startVllm(t, ['--sim-faults', 'error-rate=1']);
  for (const [url, body] of [
    [cmpl(srv.url), { model: MODEL, prompt: 'hi', max_tokens: 2 }],
    [chat(srv.url), { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }],
  ] as const) {
    const r = await postJson(url, body);
    t.equal(r.status, 500);
    const e = (r.json as any).error;
    t.equal(e.type, 'InternalServerError');
    t.equal(e.code, 500);
    t.match(e.message, /error-rate/);
  }
  const s = await postSse(chat(srv.url), { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
  t.equal(s.status, 500, 'a streaming request fails before any chunk');
  t.equal((await fetch(`${srv.url}/health`)).status, 200, 'the server itself stays healthy');
});

t.test('error-rate from KVGATE_SIM_FAULTS with a seed fails about that fraction, the same ones every run', async (t) => {
  const run = async () => {
    const srv = await startVllm(t, [], { KVGATE_SIM_FAULTS: 'error-rate=0.5', KVGATE_SIM_FAULT_SEED: '42' });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await postJson(cmpl(srv.url), { model: MODEL, prompt: `q${i}`, max_tokens: 1 })).status);
    srv.child.proc.kill('SIGTERM');
    await exitWithin(srv.child, 5_000);
    return statuses;
  };
  const a = await run();
  const failures = a.filter((s) => s === 500).length;
  t.ok(failures > 3 && failures < 17, `about half fail (${failures}/20)`);
  t.same(await run(), a, 'same seed, same failures');
});

t.test('cut-stream=1: the stream ends after the first content chunk, without [DONE]', async (t) => {
  const srv = await startVllm(t, ['--sim-faults', 'cut-stream=1']);
  const c = await postSse(chat(srv.url), { model: MODEL, messages: [{ role: 'user', content: 'Tell me more.' }], max_tokens: 20, temperature: 0 });
  t.equal(c.status, 200);
  t.notOk(c.events.includes('[DONE]'), 'no [DONE]');
  t.equal(c.events.length, 2, 'the role chunk and one content chunk');
  t.same((c.events[0] as any).choices[0].delta, { role: 'assistant', content: '' });
  t.ok(((c.events[1] as any).choices[0].delta.content as string).length > 0, 'the content chunk carries text');
  const p = await postSse(cmpl(srv.url), { model: MODEL, prompt: 'Tell me more.', max_tokens: 20, temperature: 0 });
  t.notOk(p.events.includes('[DONE]'));
  t.equal(p.events.length, 1, 'completions: one text chunk');
  const whole = await postJson(cmpl(srv.url), { model: MODEL, prompt: 'Tell me more.', max_tokens: 20, temperature: 0 });
  t.equal(whole.status, 200, 'non-streaming requests are not cut');
  t.equal((whole.json as any).usage.completion_tokens, 20);
});

t.test('crash-after=2: two completion requests are served, then the engine dies and the process exits 1', async (t) => {
  const srv = await startVllm(t, ['--sim-faults', 'crash-after=2']);
  const pid = engineCorePid(srv.child.stdout())!;
  t.equal((await postJson(cmpl(srv.url), { model: MODEL, prompt: 'one', max_tokens: 3 })).status, 200);
  t.equal((await postJson(chat(srv.url), { model: MODEL, messages: [{ role: 'user', content: 'two' }], max_tokens: 3 })).status, 200, 'the second answer still arrives');
  const { code } = await exitWithin(srv.child, 5_000);
  t.equal(code, 1);
  t.match(srv.child.stdout(), /EngineCore encountered a fatal error/);
  t.match(srv.child.stdout(), /Engine core proc EngineCore_DP0 died unexpectedly/);
  t.notOk(alive(pid), 'no EngineCore left');
});

t.test('no-reset-endpoint: /reset_prefix_cache answers 404 even in dev mode', async (t) => {
  const srv = await startVllm(t, ['--sim-faults', 'no-reset-endpoint'], { VLLM_SERVER_DEV_MODE: '1' });
  const r = await fetch(`${srv.url}/reset_prefix_cache`, { method: 'POST' });
  t.equal(r.status, 404);
});

t.test('ignore-reset: /reset_prefix_cache answers success but the prefix cache keeps serving hits', async (t) => {
  const srv = await startVllm(t, ['--sim-faults', 'ignore-reset', '--enable-prompt-tokens-details'], { VLLM_SERVER_DEV_MODE: '1' });
  const prompt = longDocument(3, 100);
  const ask = () => postJson(cmpl(srv.url), { model: MODEL, prompt, max_tokens: 2, temperature: 0 }).then((r) => r.json as any);
  await ask();
  await new Promise((r) => setTimeout(r, 50));
  const reset = await postJson(`${srv.url}/reset_prefix_cache`, {});
  t.equal(reset.status, 200);
  t.same(reset.json, { success: true });
  const again = await ask();
  t.ok(again.usage.prompt_tokens_details.cached_tokens > 0, 'the "reset" cleared nothing');
});
