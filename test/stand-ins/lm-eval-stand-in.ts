// A stand-in for EleutherAI's lm_eval (0.4.13) on machines without it: the
// subset of its CLI that kvgate uses (`--model local-completions` with a
// generate_until task from --include_path), the same requests, the same
// filters and exact_match, and the same output layout and JSONL fields, so
// the harness cannot tell which one it drove. Checked field by field against
// a real lm_eval output in test/fixtures/real/lm_eval/.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

type Doc = Record<string, unknown>;
interface Task {
  task: string;
  dataset_path: string;
  dataset_kwargs?: { data_files?: Record<string, string> };
  test_split?: string;
  fewshot_split?: string;
  num_fewshot?: number;
  fewshot_config?: { sampler?: string };
  doc_to_text: string;
  doc_to_target: string;
  target_delimiter?: string;
  fewshot_delimiter?: string;
  generation_kwargs?: Record<string, unknown>;
  metric_list?: { metric: string; ignore_case?: boolean; ignore_punctuation?: boolean; regexes_to_ignore?: string[] }[];
  filter_list?: { name: string; filter: { function: string; regex_pattern?: string; group_select?: number }[] }[];
  metadata?: { version?: number };
}

const USAGE = 'usage: lm-eval [-h] COMMAND ...';
function die(msg: string, code = 2): never {
  process.stderr.write(`${USAGE}\nlm-eval: error: ${msg}\n`);
  process.exit(code);
}

function parseCli(argv: string[]): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  const valued = new Set(['--model', '--tasks', '--include_path', '--model_args', '--limit', '--seed', '--output_path', '--gen_kwargs']);
  const unknown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n\nkvgate's lm_eval stand-in: --model local-completions --tasks T --include_path DIR --model_args K=V,... --limit N --seed S -s --output_path DIR --gen_kwargs JSON\n`);
      process.exit(0);
    }
    if (a === '-s' || a === '--log_samples') out['log_samples'] = true;
    else if (valued.has(a)) {
      const v = argv[++i];
      if (v === undefined) die(`argument ${a}: expected one argument`);
      out[a.slice(2)] = v;
    } else unknown.push(a);
  }
  if (unknown.length) die(`unrecognized arguments: ${unknown.join(' ')}`);
  return out;
}

/** Python's repr-free JSON with indent=2 and ensure_ascii=False (what lm_eval hashes docs with). */
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const render = (template: string, doc: Doc) => template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => String(doc[k] ?? ''));

function findTask(includePath: string, name: string): Task {
  const files = readdirSync(includePath, { recursive: true }).map(String).filter((f) => /\.ya?ml$/.test(f));
  for (const f of files) {
    const t = parseYaml(readFileSync(join(includePath, f), 'utf8')) as Task;
    if (t?.task === name) return t;
  }
  die(`Tasks not found: ${name}. Try \`lm-eval ls tasks\` to list available tasks.`, 1);
}

function applyFilter(resp: string, steps: NonNullable<Task['filter_list']>[number]['filter']): string {
  let value = resp;
  for (const step of steps) {
    if (step.function === 'regex') {
      const re = new RegExp(step.regex_pattern!, 'g');
      const matches = [...value.matchAll(re)];
      if (!matches.length) {
        value = '[invalid]';
        continue;
      }
      const sel = step.group_select ?? 0;
      const m = matches[sel < 0 ? matches.length + sel : sel];
      if (!m) {
        value = '[invalid]';
        continue;
      }
      // Python's findall returns the group when there is one, a tuple when several.
      const groups = m.slice(1);
      const picked = groups.length === 0 ? m[0] : groups.length === 1 ? groups[0] ?? '' : groups.find((g) => g) ?? '[invalid]';
      value = picked.trim();
    }
    // take_first: one response per doc here, nothing to do.
  }
  return value;
}

function exactMatch(pred: string, ref: string, m: NonNullable<Task['metric_list']>[number]): number {
  let p = pred;
  let r = ref;
  // Python's re.sub; translate the inline (?s) flag, which JS only takes as a flag.
  for (const raw of m.regexes_to_ignore ?? []) {
    const dotAll = raw.startsWith('(?s)');
    const re = new RegExp(dotAll ? raw.slice(4) : raw, dotAll ? 'gs' : 'g');
    p = p.replace(re, '');
    r = r.replace(re, '');
  }
  if (m.ignore_case) {
    p = p.toLowerCase();
    r = r.toLowerCase();
  }
  return p === r ? 1.0 : 0.0;
}

async function complete(url: string, body: Record<string, unknown>, retries: number): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      const json = JSON.parse(text) as { choices?: { text?: string }[] };
      return json.choices?.[0]?.text ?? '';
    } catch (err) {
      last = (err as Error).message;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  throw new Error(`API request failed after ${retries} retries: ${last}`);
}

const a = parseCli(process.argv.slice(2));
if (a['model'] !== 'local-completions') die(`argument --model: only local-completions is supported by kvgate's stand-in (got ${String(a['model'])})`);
for (const req of ['tasks', 'model_args', 'output_path']) if (!a[req]) die(`the following arguments are required: --${req}`);
const modelArgs = Object.fromEntries(String(a['model_args']).split(',').map((kv) => kv.split('=', 2) as [string, string]));
const model = modelArgs['model']!;
const baseUrl = modelArgs['base_url']!;
const concurrent = Number(modelArgs['num_concurrent'] ?? 1);
const retries = Number(modelArgs['max_retries'] ?? 3);
const task = findTask(resolve(String(a['include_path'] ?? '.')), String(a['tasks']));
const dataFile = task.dataset_kwargs?.data_files?.[task.test_split ?? 'test'];
if (task.dataset_path !== 'json' || !dataFile) die(`task ${task.task}: the stand-in only reads local JSON datasets`, 1);
const docs = readFileSync(resolve(dataFile), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc);
const limit = a['limit'] ? Math.min(Number(a['limit']), docs.length) : docs.length;
const nShot = task.num_fewshot ?? 0;
if (nShot && task.fewshot_config?.sampler !== 'first_n') die(`task ${task.task}: the stand-in supports only the first_n few-shot sampler`, 1);
const targetDelim = task.target_delimiter ?? ' ';
const shotDelim = task.fewshot_delimiter ?? '\n\n';
const genKwargs: Record<string, unknown> = { ...(task.generation_kwargs ?? {}), ...(a['gen_kwargs'] ? (JSON.parse(String(a['gen_kwargs'])) as Record<string, unknown>) : {}) };

const prompts = docs.slice(0, limit).map((doc) => {
  const shots = nShot ? docs.filter((d) => d !== doc).slice(0, nShot) : [];
  const prefix = shots.map((s) => render(task.doc_to_text, s) + targetDelim + render(task.doc_to_target, s) + shotDelim).join('');
  return prefix + render(task.doc_to_text, doc);
});

const responses = new Array<string>(limit);
let next = 0;
const started = performance.now();
try {
  await Promise.all(
    Array.from({ length: Math.max(1, concurrent) }, async () => {
      while (next < limit) {
        const i = next++;
        const g = { ...genKwargs };
        responses[i] = await complete(baseUrl, {
          prompt: prompts[i],
          model,
          max_tokens: g['max_gen_toks'] ?? 256,
          temperature: g['temperature'] ?? 0,
          stop: g['until'] ?? [],
          seed: Number(modelArgs['seed'] ?? 1234),
        }, retries);
      }
    }),
  );
} catch (err) {
  process.stderr.write(`RuntimeError: ${(err as Error).message}\n`);
  process.exit(1);
}

const dateId = new Date().toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000').replace(/:/g, '-');
const dir = join(String(a['output_path']), model.replace(/["<>:/|\\?*[\]]+/g, '__'));
mkdirSync(dir, { recursive: true });
const metric = task.metric_list?.[0] ?? { metric: 'exact_match' };
const lines: string[] = [];
const scores: Record<string, number> = {};
for (const f of task.filter_list ?? [{ name: 'none', filter: [] }]) {
  let sum = 0;
  for (let i = 0; i < limit; i++) {
    const doc = docs[i]!;
    const target = render(task.doc_to_target, doc);
    const filtered = applyFilter(responses[i]!, f.filter);
    const em = exactMatch(filtered, target, metric);
    sum += em;
    lines.push(
      JSON.stringify({
        doc_id: i,
        doc,
        target,
        arguments: { gen_args_0: { arg_0: prompts[i], arg_1: genKwargs } },
        resps: [[responses[i]]],
        filtered_resps: [filtered],
        filter: f.name,
        metrics: [metric.metric],
        doc_hash: sha256(JSON.stringify(doc, null, 2)),
        prompt_hash: sha256(prompts[i]!),
        target_hash: sha256(target),
        [metric.metric]: em,
      }),
    );
  }
  scores[`${metric.metric},${f.name}`] = sum / limit;
  scores[`${metric.metric}_stderr,${f.name}`] = 0;
}
if (a['log_samples']) writeFileSync(join(dir, `samples_${task.task}_${dateId}.jsonl`), lines.join('\n') + '\n');
const results = {
  results: { [task.task]: { name: task.task, alias: task.task, sample_len: limit, ...scores } },
  group_subtasks: {},
  configs: { [task.task]: task },
  versions: { [task.task]: task.metadata?.version ?? 0 },
  'n-shot': { [task.task]: nShot },
  higher_is_better: { [task.task]: { [metric.metric]: true } },
  'n-samples': { [task.task]: { original: docs.length, effective: limit } },
  config: { model: 'local-completions', model_args: modelArgs, limit, gen_kwargs: genKwargs, random_seed: Number(a['seed'] ?? 0) },
  git_hash: null,
  date: Date.now() / 1000,
  pretty_env_info: 'kvgate lm_eval stand-in',
  transformers_version: 'N/A',
  lm_eval_version: '0.4.13+kvgate-stand-in',
  upper_git_hash: null,
  task_hashes: {},
  model_source: 'local-completions',
  model_name: model,
  model_name_sanitized: model.replace(/["<>:/|\\?*[\]]+/g, '__'),
  system_instruction: null,
  system_instruction_sha: null,
  fewshot_as_multiturn: null,
  chat_template: null,
  chat_template_sha: null,
  total_evaluation_time_seconds: String((performance.now() - started) / 1000),
};
writeFileSync(join(dir, `results_${dateId}.json`), JSON.stringify(results, null, 2) + '\n');
process.stdout.write(`local-completions (${JSON.stringify(modelArgs)}), limit: ${limit}\n|Tasks|Filter|Value|\n${Object.entries(scores).filter(([k]) => !k.includes('stderr')).map(([k, v]) => `|${task.task}|${k.split(',')[1]}|${v}|`).join('\n')}\n`);
