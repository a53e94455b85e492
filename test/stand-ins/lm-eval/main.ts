// kvgate's stand-in for EleutherAI's lm_eval 0.4.13 on machines without it.
// The subset kvgate drives: `lm_eval [run] --model local-completions --tasks T
// --include_path DIR --model_args K=V,... --limit N --seed S -s --output_path
// DIR --gen_kwargs JSON`, a generate_until task read from a local JSON file.
// It sends the requests the real one sends (same body bytes, same order, same
// concurrency, same attempts and back-off), applies the same filters and
// exact_match, and writes the same files: samples lines byte-identical to the
// real lm_eval's, a results JSON with the same keys. Proven against a real
// output in test/fixtures/real/lm_eval/ by test/lm-eval/stand-in.test.ts.
// Extension: `--version` (the real 0.4.13 rejects it with exit 2).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyFilterPipeline, exactMatch, RegexTranslationError } from './filters.ts';
import { parsePyJson, pyDumps, PyFloat, pyFloatRepr, type PyValue } from './pyjson.ts';
import { buildPrompt, evalSplit, fewshotSplit, findTask, loadSplit, renderField, TaskError, type TaskYaml } from './task.ts';

export const STAND_IN_VERSION = '0.4.13+kvgate.stand.in';
const USAGE = 'usage: lm-eval [-h] COMMAND ...';

class UsageError extends Error {}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const sanitizeModelName = (m: string) => m.replace(/["<>:/|\\?*[\]]+/g, '__');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function log(level: 'INFO' | 'WARNING' | 'ERROR', where: string, msg: string) {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  process.stderr.write(`${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}:${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${level.padEnd(8)} [${where}] ${msg}\n`);
}

/** lm_eval's CLI value conversion (handle_cli_value_string): bool, int, float, Python literal, else the string. */
export function cliValue(s: string): PyValue {
  if (s.toLowerCase() === 'true') return true;
  if (s.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(s)) return Number(s);
  const t = s.trim().replace(/_/g, '');
  if (/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/.test(t)) return new PyFloat(Number(t));
  if (/^[+-]?(inf|infinity|nan)$/i.test(t)) return new PyFloat(t.toLowerCase().includes('nan') ? NaN : t.startsWith('-') ? -Infinity : Infinity);
  if (s === 'None') return null;
  if (s === 'True' || s === 'False') return s === 'True';
  if (s.length >= 2 && (s[0] === "'" || s[0] === '"') && s.at(-1) === s[0]) return s.slice(1, -1);
  if (/^[[{]/.test(s)) {
    try {
      return parsePyJson(s);
    } catch {
      return s;
    }
  }
  return s;
}

/** Splits on commas outside brackets and quotes (lm_eval's split_top_level). */
export function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let buf = '';
  let depth = 0;
  let quote: string | null = null;
  for (const ch of s) {
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if ('[({'.includes(ch)) depth++;
    else if ('])}'.includes(ch)) depth = Math.max(depth - 1, 0);
    else if (ch === ',' && depth === 0) {
      parts.push(buf);
      buf = '';
      continue;
    }
    buf += ch;
  }
  parts.push(buf);
  return parts.filter(Boolean);
}

/** --model_args / --gen_kwargs: a JSON object, or key=value items (comma- or space-separated), merged. */
export function parseKeyValues(values: string[], option: string): Record<string, PyValue> {
  const out: Record<string, PyValue> = {};
  if (values.length === 0) return out;
  try {
    const j = parsePyJson(values[0]!);
    if (j && typeof j === 'object' && !Array.isArray(j) && !(j instanceof PyFloat)) return { ...j };
  } catch {
    // not JSON: key=value items
  }
  for (const v of values) {
    for (const item of splitTopLevel(v)) {
      const eq = item.indexOf('=');
      if (eq < 0) throw new UsageError(`argument ${option}: expected \`key=value\`, got '${item}'`);
      out[item.slice(0, eq)] = cliValue(item.slice(eq + 1));
    }
  }
  return out;
}

export interface CliArgs {
  model: string;
  tasks: string[];
  includePath?: string;
  modelArgs: Record<string, PyValue>;
  genKwargs: Record<string, PyValue>;
  limit?: number;
  seed: [number | null, number | null, number | null, number | null];
  logSamples: boolean;
  outputPath?: string;
}

const HELP = `${USAGE}

kvgate's stand-in for EleutherAI's lm_eval ${STAND_IN_VERSION.split('+')[0]} (local-completions and
local generate_until tasks only).

  lm-eval [run] --model local-completions --tasks TASK --include_path DIR
                --model_args model=NAME,base_url=URL,num_concurrent=N,max_retries=N,tokenized_requests=False,tokenizer_backend=None
                [--limit N] [--seed S] [-s] [--output_path DIR] [--gen_kwargs JSON|k=v]
  lm-eval --version    (stand-in only: the real lm_eval has no --version)
`;

/** argparse's behaviour for the options kvgate uses: `--opt v`, `--opt=v`, nargs='+' lists, unknown options rejected. */
export function parseCli(argv: string[]): CliArgs | 'help' | 'version' {
  const args = [...argv];
  if (args[0] === 'run') args.shift();
  else if (args[0] === 'ls' || args[0] === 'validate') throw new UsageError(`the '${args[0]}' command is not supported by kvgate's stand-in`);
  const single = new Map([['--model', 'model'], ['-M', 'model'], ['--include_path', 'include_path'], ['--limit', 'limit'], ['-L', 'limit'], ['--seed', 'seed'], ['--output_path', 'output_path'], ['-o', 'output_path'], ['--batch_size', 'batch_size'], ['-b', 'batch_size']]);
  const multi = new Map([['--tasks', 'tasks'], ['-t', 'tasks'], ['--model_args', 'model_args'], ['-a', 'model_args'], ['--gen_kwargs', 'gen_kwargs']]);
  const one: Record<string, string> = {};
  const many: Record<string, string[]> = {};
  let logSamples = false;
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    if (a === '-h' || a === '--help') return 'help';
    if (a === '--version') return 'version';
    if (a === '-s' || a === '--log_samples') {
      logSamples = true;
      continue;
    }
    let inline: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (single.has(a)) {
      const v = inline ?? args[++i];
      if (v === undefined || (inline === undefined && /^-[^\d]/.test(v))) throw new UsageError(`argument ${a}: expected one argument`);
      one[single.get(a)!] = v;
    } else if (multi.has(a)) {
      const vals = inline !== undefined ? [inline] : [];
      while (inline === undefined && i + 1 < args.length && !/^-[^\d]/.test(args[i + 1]!)) vals.push(args[++i]!);
      if (vals.length === 0) throw new UsageError(`argument ${a}: expected at least one argument`);
      const key = multi.get(a)!;
      many[key] = [...(many[key] ?? []), ...vals];
    } else unknown.push(...(inline !== undefined ? [`${a}=${inline}`] : [a]));
  }
  if (unknown.length) throw new UsageError(`unrecognized arguments: ${unknown.join(' ')}`);
  const model = one['model'] ?? 'hf';
  if (model !== 'local-completions') throw new UsageError(`argument --model: kvgate's stand-in supports only local-completions (got ${model})`);
  if (one['batch_size'] !== undefined && one['batch_size'] !== '1') throw new UsageError('argument --batch_size: kvgate\'s stand-in sends one prompt per request (batch_size 1)');
  const tasks = (many['tasks'] ?? []).flatMap((t) => t.split(',')).filter(Boolean);
  let limit: number | undefined;
  if (one['limit'] !== undefined) {
    limit = Number(one['limit']);
    if (!Number.isFinite(limit)) throw new UsageError(`argument --limit/-L: invalid float value: '${one['limit']}'`);
  }
  let seed: CliArgs['seed'] = [0, 1234, 1234, 1234];
  if (one['seed'] !== undefined) {
    const parts = one['seed'].split(',');
    const val = (s: string) => {
      if (s === 'None') return null;
      if (!/^-?\d+$/.test(s)) throw new UsageError(`argument --seed: Invalid value '${s}': expected an integer or None`);
      return Number(s);
    };
    if (parts.length === 1) seed = [val(parts[0]!), val(parts[0]!), val(parts[0]!), val(parts[0]!)];
    else if (parts.length === 4) seed = parts.map(val) as CliArgs['seed'];
    else throw new UsageError(`argument --seed: expected 1 or 4 values, got ${parts.length}`);
  }
  return {
    model,
    tasks,
    ...(one['include_path'] !== undefined ? { includePath: one['include_path'] } : {}),
    modelArgs: parseKeyValues(many['model_args'] ?? [], '--model_args'),
    genKwargs: parseKeyValues(many['gen_kwargs'] ?? [], '--gen_kwargs'),
    ...(limit !== undefined ? { limit } : {}),
    seed,
    logSamples,
    ...(one['output_path'] !== undefined ? { outputPath: one['output_path'] } : {}),
  };
}

/** The request body local-completions builds for a generation (key order and values as lm_eval's _create_payload). */
export function completionPayload(prompt: string, model: string, genKwargs: Record<string, PyValue>, seed: number, defaultMaxGenToks = 256): Record<string, PyValue> {
  const g = { ...genKwargs };
  delete g['do_sample'];
  let maxTokens: PyValue;
  if ('max_tokens' in g) {
    maxTokens = g['max_tokens']!;
    delete g['max_tokens'];
  } else {
    maxTokens = g['max_gen_toks'] ?? defaultMaxGenToks;
    delete g['max_gen_toks'];
  }
  const temperature = 'temperature' in g ? g['temperature']! : 0;
  delete g['temperature'];
  const until = g['until'];
  delete g['until'];
  const stop = until === undefined || until === null ? [] : typeof until === 'string' ? [until] : until;
  return { prompt, model, max_tokens: maxTokens, temperature, stop, seed, ...g };
}

class RequestFailed extends Error {}

/**
 * One generation with lm_eval's retry policy: tenacity stop_after_attempt(max_retries)
 * (so max_retries=3 means three attempts in all) and wait_exponential(multiplier=0.5,
 * min=1, max=10) between them (1 s, 1 s, 2 s, 4 s, …).
 */
async function generate(url: string, body: string, attempts: number, timeoutS: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env['OPENAI_API_KEY'] ?? ''}`.trim() }, body, signal: AbortSignal.timeout(timeoutS * 1000) });
      } catch (err) {
        const u = new URL(url);
        throw new RequestFailed(`aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host ${u.hostname}:${u.port || 80} ssl:default [${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}]`);
      }
      const text = await res.text();
      if (!res.ok) {
        log('WARNING', 'models.api_models:521', `API request failed! Status code: ${res.status}, Response text: ${text}. Retrying...`);
        throw new RequestFailed(`aiohttp.client_exceptions.ClientResponseError: ${res.status}, message='${res.statusText}', url='${url}'`);
      }
      let json: { choices?: { index?: number; text?: string | null }[] };
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        throw new RequestFailed(`aiohttp.client_exceptions.ContentTypeError: response is not JSON: ${text.slice(0, 200)}`);
      }
      if (!Array.isArray(json.choices) || json.choices.length === 0) throw new RequestFailed(`KeyError: 'choices' (response ${text.slice(0, 200)})`);
      const t = json.choices[0]!.text;
      if (t === null || t === undefined) {
        log('WARNING', 'models.api_models:545', 'API returned null content. Content filled with `LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER`.');
        return process.env['LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER'] ?? '';
      }
      return t;
    } catch (err) {
      if (!(err instanceof RequestFailed)) throw err;
      log('ERROR', 'models.api_models:557', `Exception:${err.message}, retrying.`);
      if (attempt >= attempts) throw err;
      log('INFO', 'models.api_models:607', `Retry attempt ${attempt}`);
      await sleep(Math.min(10, Math.max(1, 0.5 * 2 ** (attempt - 1))) * 1000);
    }
  }
}

/** datetime.now().isoformat() with ':' replaced, as lm_eval names its files. */
export function dateId(nowMs = performance.timeOrigin + performance.now()): string {
  const d = new Date(Math.floor(nowMs));
  const micros = Math.floor((nowMs % 1000) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  return micros === 0 ? base : `${base}.${p(micros, 6)}`;
}

const float = (n: number) => new PyFloat(n);

function meanStderr(xs: number[]): PyValue {
  if (xs.length < 2) return 'N/A';
  const mu = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mu) ** 2, 0) / (xs.length - 1));
  return float(sd / Math.sqrt(xs.length));
}

/** The task config as lm_eval logs it under "configs" (defaults filled in, in its field order). */
function dumpConfig(t: TaskYaml, genKwargs: Record<string, PyValue>, modelArgs: Record<string, PyValue>, source: string): Record<string, unknown> {
  const shotDelim = t.fewshot_delimiter ?? '\n\n';
  const targetDelim = t.target_delimiter ?? ' ';
  const out: Record<string, unknown> = {};
  for (const k of ['task', 'tag', 'dataset_path', 'dataset_name', 'dataset_kwargs', 'training_split', 'validation_split', 'test_split', 'fewshot_split', 'doc_to_text', 'doc_to_target']) if (t[k] !== undefined) out[k] = t[k];
  out['unsafe_code'] = false;
  out['description'] = t.description ?? '';
  out['target_delimiter'] = targetDelim;
  out['fewshot_delimiter'] = shotDelim;
  if (t.fewshot_config) {
    out['fewshot_config'] = {
      sampler: t.fewshot_config.sampler ?? 'default',
      split: fewshotSplit(t),
      process_docs: null,
      fewshot_indices: null,
      samples: null,
      doc_to_text: t.doc_to_text,
      doc_to_choice: null,
      doc_to_target: t.doc_to_target,
      gen_prefix: null,
      fewshot_delimiter: shotDelim,
      target_delimiter: targetDelim,
    };
  }
  if (t.num_fewshot !== undefined) out['num_fewshot'] = t.num_fewshot;
  if (t.metric_list) out['metric_list'] = t.metric_list;
  out['output_type'] = t.output_type ?? 'generate_until';
  out['generation_kwargs'] = genKwargs;
  out['repeats'] = t.repeats ?? 1;
  if (t.filter_list) out['filter_list'] = t.filter_list;
  out['should_decontaminate'] = false;
  out['metadata'] = { ...(t.metadata ?? {}), ...modelArgs, config_source: source };
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let cli: CliArgs | 'help' | 'version';
  try {
    cli = parseCli(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${USAGE}\nlm-eval: error: ${err.message}\n`);
    return 2;
  }
  if (cli === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (cli === 'version') {
    process.stdout.write(`lm_eval ${STAND_IN_VERSION}\n`);
    return 0;
  }
  const started = performance.now();
  const startedAtS = Date.now() / 1000;
  try {
    if (cli.tasks.length !== 1) throw new TaskError(cli.tasks.length === 0 ? 'No tasks specified, or no tasks found. Please verify the task names.' : `kvgate's stand-in runs one task at a time (got ${cli.tasks.join(', ')})`);
    const { config: task, source } = findTask(resolve(cli.includePath ?? '.'), cli.tasks[0]!);
    const ma = cli.modelArgs;
    const model = String(ma['model'] ?? ma['pretrained'] ?? '');
    const baseUrl = ma['base_url'];
    if (!model || typeof baseUrl !== 'string') throw new TaskError('--model_args needs model=NAME and base_url=URL (the full /v1/completions URL)');
    const backend = ma['tokenizer_backend'];
    if (backend !== null && backend !== 'None' && backend !== 'none') {
      throw new TaskError(`kvgate's stand-in has no tokenizer: pass tokenizer_backend=None in --model_args (got ${backend === undefined ? 'the default, auto' : String(backend)})`);
    }
    const concurrent = Math.max(1, Number(ma['num_concurrent'] ?? 1));
    const attempts = Number(ma['max_retries'] ?? 3);
    const timeoutS = Number(ma['timeout'] ?? 300);
    const payloadSeed = Number(ma['seed'] ?? 1234);
    const maxGenToks = Number(ma['max_gen_toks'] ?? 256);

    const evalDocs = loadSplit(task, evalSplit(task));
    const fewshotDocs = (task.num_fewshot ?? 0) > 0 ? loadSplit(task, fewshotSplit(task)) : [];
    const limit = cli.limit === undefined ? evalDocs.length : cli.limit < 1 ? Math.ceil(evalDocs.length * cli.limit) : Math.min(Math.trunc(cli.limit), evalDocs.length);
    const docs = evalDocs.slice(0, limit);
    const genKwargs: Record<string, PyValue> = { ...(task.generation_kwargs ?? {}), ...cli.genKwargs };
    if (Object.keys(cli.genKwargs).length) log('WARNING', 'evaluator:226', `generation_kwargs: ${pyDumps(cli.genKwargs)} specified through cli, these settings will update set parameters in yaml tasks.`);
    const prompts = docs.map((d) => buildPrompt(task, d, fewshotDocs));
    const targets = docs.map((d) => renderField(task.doc_to_target, d));

    // lm_eval sends the longest prompts first (its Collator sorts by -len), num_concurrent at a time.
    const order = prompts.map((p, i) => ({ i, len: p.length })).sort((a, b) => b.len - a.len || a.i - b.i).map((x) => x.i);
    const responses = new Array<string>(docs.length);
    let next = 0;
    let failed: Error | undefined;
    log('INFO', 'evaluator:589', 'Running generate_until requests');
    await Promise.all(
      Array.from({ length: Math.min(concurrent, docs.length) }, async () => {
        while (next < order.length && !failed) {
          const i = order[next++]!;
          const body = pyDumps(completionPayload(prompts[i]!, model, genKwargs, payloadSeed, maxGenToks));
          try {
            responses[i] = await generate(baseUrl, body, attempts, timeoutS);
          } catch (err) {
            failed ??= err as Error;
          }
        }
      }),
    );
    if (failed) {
      process.stderr.write(`Traceback (most recent call last):\n  (kvgate lm_eval stand-in)\n${failed.message}\n`);
      return 1;
    }

    const metrics = task.metric_list ?? [];
    const filters = task.filter_list ?? [{ name: 'none', filter: [{ function: 'take_first' }] }];
    const samples: Record<string, unknown>[] = [];
    const scores: Record<string, PyValue> = {};
    for (const f of filters) {
      const perMetric = new Map<string, number[]>(metrics.map((m) => [m.metric, []]));
      docs.forEach((doc, i) => {
        const filtered = applyFilterPipeline([responses[i]!], f.filter);
        const values: Record<string, PyFloat> = {};
        for (const m of metrics) {
          const { metric: name, aggregation: _a, higher_is_better: _h, ...opts } = m;
          void _a;
          void _h;
          const v = exactMatch(typeof filtered === 'string' ? filtered : String(filtered[0] ?? ''), targets[i]!, opts);
          values[name] = float(v);
          perMetric.get(name)!.push(v);
        }
        samples.push({
          doc_id: i,
          doc,
          target: targets[i],
          arguments: { gen_args_0: { arg_0: prompts[i], arg_1: genKwargs } },
          resps: [[responses[i]]],
          filtered_resps: [filtered],
          filter: f.name,
          metrics: metrics.map((m) => m.metric),
          doc_hash: sha256(pyDumps(doc, { indent: 2, ensureAscii: false })),
          prompt_hash: sha256(prompts[i]!),
          target_hash: sha256(targets[i]!),
          ...values,
        });
      });
      for (const [name, xs] of perMetric) {
        scores[`${name},${f.name}`] = float(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
        scores[`${name}_stderr,${f.name}`] = meanStderr(xs);
      }
    }

    if (cli.outputPath) {
      const sanitized = sanitizeModelName(model);
      const dir = join(cli.outputPath, sanitized);
      mkdirSync(dir, { recursive: true });
      const id = dateId();
      const results = {
        results: { [task.task]: { name: task.task, alias: task.task, sample_len: docs.length, ...scores } },
        group_subtasks: {},
        configs: { [task.task]: dumpConfig(task, genKwargs, ma, source) },
        versions: { [task.task]: task.metadata?.['version'] ?? null },
        'n-shot': { [task.task]: task.num_fewshot ?? 0 },
        higher_is_better: { [task.task]: Object.fromEntries(metrics.map((m) => [m.metric, m.higher_is_better ?? true])) },
        'n-samples': { [task.task]: { original: evalDocs.length, effective: docs.length } },
        config: {
          model: cli.model,
          model_args: ma,
          batch_size: 1,
          batch_sizes: [],
          device: 'cuda:0',
          use_cache: null,
          limit: cli.limit === undefined ? null : float(cli.limit),
          bootstrap_iters: 100000,
          gen_kwargs: Object.keys(cli.genKwargs).length ? cli.genKwargs : null,
          random_seed: cli.seed[0],
          numpy_seed: cli.seed[1],
          torch_seed: cli.seed[2],
          fewshot_seed: cli.seed[3],
        },
        git_hash: null,
        date: float(startedAtS),
        pretty_env_info: "kvgate's lm_eval stand-in (no torch)",
        transformers_version: 'N/A',
        lm_eval_version: STAND_IN_VERSION,
        upper_git_hash: null,
        task_hashes: cli.logSamples ? { [task.task]: sha256(samples.map((s) => `${s['doc_hash']}${s['prompt_hash']}${s['target_hash']}`).join('')) } : {},
        model_source: cli.model,
        model_name: model,
        model_name_sanitized: sanitized,
        system_instruction: null,
        system_instruction_sha: null,
        fewshot_as_multiturn: null,
        chat_template: null,
        chat_template_sha: null,
        total_evaluation_time_seconds: String((performance.now() - started) / 1000),
      };
      writeFileSync(join(dir, `results_${id}.json`), pyDumps(results, { indent: 2, ensureAscii: false }), 'utf8');
      if (cli.logSamples) {
        writeFileSync(join(dir, `samples_${task.task}_${id}.jsonl`), samples.map((s) => pyDumps(s, { ensureAscii: false }) + '\n').join(''), 'utf8');
        log('INFO', 'loggers.evaluation_tracker:119', `Saving per-task samples to ${dir}/*.jsonl`);
      }
    }
    const limitText = cli.limit === undefined ? 'None' : pyFloatRepr(cli.limit);
    process.stdout.write(`${cli.model} (${pyDumps(ma)}), gen_kwargs: (${pyDumps(cli.genKwargs)}), limit: ${limitText}, num_fewshot: None, batch_size: 1\n`);
    process.stdout.write(`|      Tasks      |     Filter     |n-shot|  Metric   |Value|\n|-----------------|----------------|-----:|-----------|----:|\n`);
    for (const [k, v] of Object.entries(scores)) {
      if (k.includes('_stderr,')) continue;
      const [metric, filter] = k.split(',');
      process.stdout.write(`|${task.task}|${filter}|${task.num_fewshot ?? 0}|${metric}|${(v as PyFloat).value.toFixed(4)}|\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof TaskError || err instanceof RangeError || err instanceof RegexTranslationError) {
      process.stderr.write(`Traceback (most recent call last):\n  (kvgate lm_eval stand-in)\n${err instanceof TaskError ? 'ValueError' : 'Error'}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
