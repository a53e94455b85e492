// The executable as a real child process, spoken to over HTTP like a real
// client: SSE shapes, usage, determinism, metrics, the dev-mode reset, errors.
import t from 'tap';
import { countTokens } from '../../src/sim/vllm/tokenizer.ts';
import { histogramCount, longDocument, metric, MODEL, postJson, postSse, scrape, startVllm } from './vllm-helpers.ts';

const srv = await startVllm(t, ['--enable-prompt-tokens-details', '--max-model-len', '4096'], { VLLM_SERVER_DEV_MODE: '1' });
const chatUrl = `${srv.url}/v1/chat/completions`;
const cmplUrl = `${srv.url}/v1/completions`;
const labels = { model_name: MODEL, engine: '0' };

async function idle(url: string): Promise<void> {
  // Blocks of a finished request are freed right after its last chunk; wait until none is held.
  for (let i = 0; i < 100; i++) {
    const m = await scrape(url);
    if (metric(m, 'vllm:kv_cache_usage_perc') === 0 && metric(m, 'vllm:num_requests_running') === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('chat SSE: role chunk first, one content delta per token, finish_reason last, usage chunk, [DONE]', async (t) => {
  const r = await postSse(chatUrl, {
    model: MODEL,
    messages: [{ role: 'user', content: 'Describe the cache in a few words.' }],
    max_tokens: 6,
    temperature: 0,
    stream_options: { include_usage: true },
  });
  t.equal(r.status, 200);
  t.match(r.contentType, /^text\/event-stream/);
  t.notOk(r.aborted);
  t.match(r.raw, /^data: /, 'lines start with "data: "');
  t.ok(r.raw.endsWith('data: [DONE]\n\n'), '[DONE] is last');
  const chunks = r.events.slice(0, -1) as Record<string, any>[];
  t.equal(r.events.at(-1), '[DONE]');
  const usage = chunks.at(-1)!;
  const content = chunks.slice(1, -1);
  const role = chunks[0]!;
  t.same(role.choices, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], 'the first chunk carries the role and no text');
  t.equal(content.length, 6, 'one content chunk per generated token');
  for (const c of chunks) {
    t.equal(c.object, 'chat.completion.chunk');
    t.match(c.id, /^chatcmpl-[0-9a-f]{32}$/);
    t.equal(c.model, MODEL);
    t.type(c.created, 'number');
    t.equal(c.id, role.id, 'one id for the whole stream');
  }
  content.forEach((c, i) => {
    t.equal(Object.keys(c.choices[0].delta).join(), 'content', 'content deltas carry only content');
    t.equal(typeof c.choices[0].delta.content, 'string');
    t.equal(c.choices[0].finish_reason, i === content.length - 1 ? 'length' : null);
  });
  t.same(usage.choices, [], 'the usage chunk has no choices');
  t.equal(usage.usage.completion_tokens, 6);
  t.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + 6);
  t.same(usage.usage.prompt_tokens_details, { cached_tokens: 0 }, 'cached_tokens with --enable-prompt-tokens-details');
});

t.test('completions SSE: text pieces, finish_reason on the last, usage chunk, [DONE]', async (t) => {
  const r = await postSse(cmplUrl, { model: MODEL, prompt: 'Count the boxes:', max_tokens: 5, temperature: 0, stream_options: { include_usage: true } });
  t.equal(r.status, 200);
  t.equal(r.events.at(-1), '[DONE]');
  const chunks = r.events.slice(0, -1) as Record<string, any>[];
  const pieces = chunks.slice(0, -1);
  t.equal(pieces.length, 5);
  for (const [i, c] of pieces.entries()) {
    t.equal(c.object, 'text_completion');
    t.match(c.id, /^cmpl-[0-9a-f]{32}$/);
    t.equal(c.choices.length, 1);
    t.equal(c.choices[0].index, 0);
    t.type(c.choices[0].text, 'string');
    t.equal(c.choices[0].finish_reason, i === pieces.length - 1 ? 'length' : null);
  }
  const usage = chunks.at(-1)!;
  t.same(usage.choices, []);
  t.equal(usage.usage.prompt_tokens, countTokens('Count the boxes:'), 'prompt tokens counted by the simulated tokenizer');
  t.equal(usage.usage.completion_tokens, 5);

  const plain = await postSse(cmplUrl, { model: MODEL, prompt: 'Count the boxes:', max_tokens: 5, temperature: 0 });
  t.equal((plain.events.at(-2) as Record<string, any>).choices.length, 1, 'without include_usage no usage chunk');
});

t.test('non-streaming responses carry usage and the same text as the stream', async (t) => {
  const body = { model: MODEL, prompt: 'What is twelve plus thirty?', max_tokens: 12, temperature: 0 };
  const r = await postJson(cmplUrl, body);
  t.equal(r.status, 200);
  const j = r.json as Record<string, any>;
  t.equal(j.object, 'text_completion');
  t.equal(j.choices[0].finish_reason, 'length');
  t.equal(j.usage.completion_tokens, 12);
  t.equal(j.usage.prompt_tokens, countTokens(body.prompt));
  t.equal(j.usage.total_tokens, j.usage.prompt_tokens + 12);
  const streamed = await postSse(cmplUrl, body);
  const text = (streamed.events.slice(0, -1) as Record<string, any>[]).map((c) => c.choices[0].text).join('');
  t.equal(text, j.choices[0].text, 'stream and non-stream generate the same text');

  const chat = await postJson(chatUrl, { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, temperature: 0 });
  const c = chat.json as Record<string, any>;
  t.equal(c.object, 'chat.completion');
  t.equal(c.choices[0].message.role, 'assistant');
  t.type(c.choices[0].message.content, 'string');
  t.equal(c.usage.completion_tokens, 3);
});

t.test('identical prompts give identical outputs; different prompts differ', async (t) => {
  const ask = (prompt: string) => postJson(cmplUrl, { model: MODEL, prompt, max_tokens: 24, temperature: 0 }).then((r) => (r.json as any).choices[0].text as string);
  const doc = longDocument(1, 300);
  const [a, b, c] = await Promise.all([ask(doc), ask(doc), ask(doc)]);
  t.equal(a, b);
  t.equal(b, c, 'concurrent identical requests agree');
  t.equal(await ask(doc), a, 'and again later (now from the prefix cache)');
  t.not(await ask(`${doc} Another question?`), a);
});

t.test('a batch of prompts (lm_eval local-completions) gets one choice per prompt, in order', async (t) => {
  const prompts = ['Question: 2+2? Answer:', 'Question: how many eggs? Answer:', 'Question: 2+2? Answer:'];
  const r = await postJson(cmplUrl, { model: MODEL, prompt: prompts, max_tokens: 8, temperature: 0, stop: ['\n\n'], seed: 1234 });
  t.equal(r.status, 200);
  const j = r.json as Record<string, any>;
  t.equal(j.choices.length, 3);
  t.same(j.choices.map((c: any) => c.index), [0, 1, 2]);
  t.equal(j.choices[0].text, j.choices[2].text, 'same prompt, same answer');
  for (let i = 0; i < 3; i++) {
    const single = await postJson(cmplUrl, { model: MODEL, prompt: prompts[i], max_tokens: 8, temperature: 0, stop: ['\n\n'], seed: 1234 });
    t.equal((single.json as any).choices[0].text, j.choices[i].text, `prompt ${i} alone gives the same text`);
  }
  t.equal(j.usage.prompt_tokens, prompts.reduce((n, p) => n + countTokens(p), 0), 'usage sums the batch');
});

t.test('stop strings cut the text and set stop_reason', async (t) => {
  const base = await postJson(cmplUrl, { model: MODEL, prompt: 'Tell a story.', max_tokens: 40, temperature: 0, ignore_eos: true });
  const text = (base.json as any).choices[0].text as string;
  const words = text.trim().split(/\s+/);
  const stop = ` ${words[3]}`;
  const cut = await postJson(cmplUrl, { model: MODEL, prompt: 'Tell a story.', max_tokens: 40, temperature: 0, stop: [stop], ignore_eos: true });
  const c = (cut.json as any).choices[0];
  t.equal(c.finish_reason, 'stop');
  t.equal(c.stop_reason, stop);
  t.equal(c.text, text.slice(0, text.indexOf(stop)));
});

t.test('/metrics parses; prefix cache hits rise on a repeated prompt; reset empties the cache', async (t) => {
  await idle(srv.url);
  const prompt = longDocument(7, 200);
  const n = countTokens(prompt);
  const expectedHit = Math.floor((n - 1) / 16) * 16;
  const before = await scrape(srv.url);
  for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total', 'vllm:request_success_total', 'vllm:time_to_first_token_seconds', 'vllm:e2e_request_latency_seconds', 'vllm:inter_token_latency_seconds', 'vllm:request_prefill_time_seconds', 'vllm:request_queue_time_seconds']) {
    t.ok(before.some((f) => f.name === name), `${name} is exposed`);
  }
  t.equal(metric(before, 'vllm:external_prefix_cache_queries_total', labels), 0, 'external counters exist (0 without a connector)');
  t.match(before.text, /vllm:num_requests_running\{model_name="kvgate\/sim-qwen3-8b",engine="0"\} 0/, 'labels model_name and engine');
  const q0 = metric(before, 'vllm:prefix_cache_queries_total')!;
  const h0 = metric(before, 'vllm:prefix_cache_hits_total')!;
  const ttft0 = histogramCount(before.text, 'vllm:time_to_first_token_seconds');
  const ok0 = metric(before, 'vllm:request_success_total', { finished_reason: 'length' })!;

  const ask = () => postJson(cmplUrl, { model: MODEL, prompt, max_tokens: 4, temperature: 0 }).then((r) => r.json as any);
  const first = await ask();
  t.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  await idle(srv.url);
  const second = await ask();
  t.equal(second.usage.prompt_tokens_details.cached_tokens, expectedHit, 'the repeat is served from the GPU prefix cache');
  t.equal(second.choices[0].text, first.choices[0].text);
  const after = await scrape(srv.url);
  t.equal(metric(after, 'vllm:prefix_cache_queries_total')! - q0, 2 * n, 'queries count every prompt token');
  t.equal(metric(after, 'vllm:prefix_cache_hits_total')! - h0, expectedHit, 'hits count the cached tokens');
  t.equal(histogramCount(after.text, 'vllm:time_to_first_token_seconds') - ttft0, 2);
  t.equal(metric(after, 'vllm:request_success_total', { finished_reason: 'length' })! - ok0, 2);
  t.equal(metric(after, 'vllm:kv_cache_usage_perc'), 0, 'no block held once done');

  await idle(srv.url);
  const reset = await postJson(`${srv.url}/reset_prefix_cache`, {});
  t.equal(reset.status, 200);
  t.same(reset.json, { success: true });
  const third = await ask();
  t.equal(third.usage.prompt_tokens_details.cached_tokens, 0, 'after the reset the prompt is computed again');
  t.equal(third.choices[0].text, first.choices[0].text, 'with the same output');
  const last = await scrape(srv.url);
  t.equal(metric(last, 'vllm:prefix_cache_hits_total')! - h0, expectedHit, 'no new hits after the reset');
});

t.test('reset_prefix_cache answers success:false while a request holds blocks', async (t) => {
  await idle(srv.url);
  const running = postJson(cmplUrl, { model: MODEL, prompt: 'Keep busy for a while.', max_tokens: 80, temperature: 0, ignore_eos: true });
  await new Promise((r) => setTimeout(r, 100));
  const reset = await postJson(`${srv.url}/reset_prefix_cache`, {});
  t.equal(reset.status, 200);
  t.same(reset.json, { success: false });
  t.equal((await running).status, 200);
  await idle(srv.url);
  t.same((await postJson(`${srv.url}/reset_prefix_cache`, {})).json, { success: true }, 'succeeds once idle');
});

t.test('errors use vLLM\'s error body', async (t) => {
  const unknown = await postJson(cmplUrl, { model: 'no-such-model', prompt: 'x', max_tokens: 1 });
  t.equal(unknown.status, 404);
  t.same(unknown.json, { error: { message: 'The model `no-such-model` does not exist.', type: 'NotFoundError', param: null, code: 404 } });
  const longPrompt = 'word '.repeat(4000).trim();
  const tooLong = await postJson(cmplUrl, { model: MODEL, prompt: longPrompt, max_tokens: 200 });
  t.equal(tooLong.status, 400);
  const e = (tooLong.json as any).error;
  t.equal(e.type, 'BadRequestError');
  t.equal(e.code, 400);
  t.equal(
    e.message,
    `You passed ${countTokens(longPrompt)} input tokens and requested 200 output tokens. However, the model's context length is only 4096 tokens, resulting in a maximum input length of 3896 tokens. Please reduce the length of the input prompt.`,
  );
  t.equal(e.param, 'input_tokens');
  const badJson = await fetch(cmplUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
  t.equal(badJson.status, 400);
  t.equal(((await badJson.json()) as any).error.type, 'BadRequestError');
  const zero = await postJson(cmplUrl, { model: MODEL, prompt: 'x', max_tokens: 0 });
  t.equal(zero.status, 400);
  const route = await fetch(`${srv.url}/v1/nothing`);
  t.equal(route.status, 404);
  t.same(await route.json(), { detail: 'Not Found' });
  const method = await fetch(cmplUrl);
  t.equal(method.status, 405);
});

t.test('/health, /version and /v1/models answer like vLLM', async (t) => {
  const health = await fetch(`${srv.url}/health`);
  t.equal(health.status, 200);
  t.equal(await health.text(), '', 'empty body');
  const version = (await (await fetch(`${srv.url}/version`)).json()) as { version: string };
  t.match(version.version, /^0\.\d+\.\d+\+kvgate\.sim$/);
  const models = (await (await fetch(`${srv.url}/v1/models`)).json()) as any;
  t.equal(models.object, 'list');
  t.equal(models.data[0].id, MODEL);
  t.equal(models.data[0].object, 'model');
  t.equal(models.data[0].max_model_len, 4096);
});

t.test('without VLLM_SERVER_DEV_MODE=1 there is no /reset_prefix_cache (404)', async (t) => {
  const plain = await startVllm(t, ['--served-model-name', 'served'], {});
  const r = await fetch(`${plain.url}/reset_prefix_cache`, { method: 'POST' });
  t.equal(r.status, 404);
  const c = await postJson(`${plain.url}/v1/completions`, { model: 'served', prompt: 'hello', max_tokens: 2, temperature: 0 });
  t.equal(c.status, 200, 'the served name is the model name of the API');
  t.equal((c.json as any).usage.prompt_tokens_details, null, 'no cached_tokens without --enable-prompt-tokens-details');
  const m = await scrape(plain.url);
  t.equal(metric(m, 'vllm:prompt_tokens_total', { model_name: 'served' }), countTokens('hello'), 'metrics carry the served name');
});
