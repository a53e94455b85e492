// Task loading for the lm_eval stand-in: the YAML task from --include_path,
// its local JSON/JSONL data, and the prompts lm_eval 0.4.13 builds from them
// (few-shot with the first_n sampler, {{field}} templates). Anything outside
// that subset is refused with a clear message instead of being guessed.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml, type Tags } from 'yaml';
import { parsePyJson, pyEqual, PyFloat, type PyValue } from './pyjson.ts';

export type Doc = { [key: string]: PyValue };

export interface MetricConfig {
  metric: string;
  aggregation?: string;
  higher_is_better?: boolean;
  ignore_case?: boolean;
  ignore_punctuation?: boolean;
  ignore_numbers?: boolean;
  regexes_to_ignore?: string[];
}

export interface FilterStep {
  function: string;
  regex_pattern?: string;
  group_select?: number;
  fallback?: string;
}

export interface TaskYaml {
  task: string;
  dataset_path?: string;
  dataset_name?: string;
  dataset_kwargs?: { data_files?: string | string[] | Record<string, string | string[]> };
  test_split?: string;
  validation_split?: string;
  training_split?: string;
  fewshot_split?: string;
  num_fewshot?: number;
  fewshot_config?: { sampler?: string };
  doc_to_text: string;
  doc_to_target: string;
  description?: string;
  target_delimiter?: string;
  fewshot_delimiter?: string;
  output_type?: string;
  generation_kwargs?: Record<string, PyValue>;
  metric_list?: MetricConfig[];
  filter_list?: { name: string; filter: FilterStep[] }[];
  repeats?: number;
  metadata?: Record<string, PyValue>;
  [key: string]: unknown;
}

export interface LoadedTask {
  config: TaskYaml;
  /** Absolute path of the YAML file (lm_eval logs it as metadata.config_source). */
  source: string;
}

/** Exit 1 with lm_eval's style of message: a task-level problem, not a usage error. */
export class TaskError extends Error {}

class PyFunction {
  constructor(readonly ref: string) {}
}

// YAML floats stay PyFloat (so 0.0 is written back as 0.0); lm_eval's
// `!function module.name` tag is recognised only to be refused clearly.
const yamlTags = (tags: Tags): Tags => [
  { tag: '!function', resolve: (s: string) => new PyFunction(s) } as unknown as Tags[number],
  ...tags.map((t) => {
    if (typeof t !== 'object' || !('tag' in t) || t.tag !== 'tag:yaml.org,2002:float' || !('resolve' in t) || typeof t.resolve !== 'function') return t;
    const orig = t.resolve as (...a: unknown[]) => unknown;
    return {
      ...t,
      resolve: (...a: unknown[]) => {
        const v = orig(...a);
        const n = typeof v === 'object' && v !== null && 'value' in v ? (v as { value: unknown }).value : v;
        return new PyFloat(Number(n));
      },
    } as Tags[number];
  }),
];

export function parseTaskYaml(text: string): unknown {
  return parseYaml(text, { customTags: yamlTags });
}

function yamlFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

function loadWithIncludes(file: string, depth = 0): Record<string, unknown> {
  if (depth > 10) throw new TaskError(`${file}: include chain deeper than 10`);
  const raw = parseTaskYaml(readFileSync(file, 'utf8'));
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const obj = raw as Record<string, unknown>;
  if (typeof obj['include'] !== 'string') return obj;
  const base = loadWithIncludes(resolve(dirname(file), obj['include']), depth + 1);
  const { include: _ignored, ...rest } = obj;
  void _ignored;
  return { ...base, ...rest };
}

/** The task named `name` among the YAML files under `includePath` (searched recursively, like lm_eval). */
export function findTask(includePath: string, name: string): LoadedTask {
  let files: string[];
  try {
    files = yamlFiles(includePath);
  } catch {
    throw new TaskError(`Tasks not found: ${name} (--include_path ${includePath} is not a readable directory)`);
  }
  for (const f of files) {
    let cfg: Record<string, unknown>;
    try {
      cfg = loadWithIncludes(f);
    } catch (err) {
      if (err instanceof TaskError) throw err;
      continue; // lm_eval skips YAML files it cannot read as tasks
    }
    if (cfg['task'] === name) return { config: checkSupported(cfg as TaskYaml, f), source: resolve(f) };
  }
  throw new TaskError(`Tasks not found: ${name}`);
}

function checkSupported(t: TaskYaml, file: string): TaskYaml {
  const refuse = (what: string): never => {
    throw new TaskError(`task ${t.task} (${file}): ${what} is not supported by kvgate's lm_eval stand-in; run the real lm_eval (LM_EVAL_BIN)`);
  };
  for (const [k, v] of Object.entries(t)) if (v instanceof PyFunction) refuse(`${k}: !function ${v.ref}`);
  if ((t.output_type ?? 'generate_until') !== 'generate_until') refuse(`output_type ${t.output_type}`);
  if (t.dataset_path !== 'json') refuse(`dataset_path ${String(t.dataset_path)} (only local files through dataset_path: json)`);
  if (!t.dataset_kwargs?.data_files) refuse('a json dataset without dataset_kwargs.data_files');
  if (t.description) refuse('description');
  for (const k of ['process_docs', 'doc_to_choice', 'process_results', 'gen_prefix', 'use_prompt', 'doc_to_decontamination_query']) if (t[k] !== undefined && t[k] !== null) refuse(k);
  if ((t.num_fewshot ?? 0) > 0 && t.fewshot_config?.sampler !== 'first_n') refuse(`few-shot sampler ${t.fewshot_config?.sampler ?? 'default (random)'} (only first_n)`);
  if ((t.repeats ?? 1) !== 1) refuse(`repeats ${t.repeats}`);
  for (const f of t.filter_list ?? []) for (const s of f.filter) if (s.function !== 'regex' && s.function !== 'take_first') refuse(`filter function ${s.function}`);
  for (const m of t.metric_list ?? []) if (m.metric !== 'exact_match') refuse(`metric ${m.metric}`);
  return t;
}

/** The files of one split: data_files may be a string, a list, or {split: string | list}. */
export function splitFiles(t: TaskYaml, split: string): string[] {
  const df = t.dataset_kwargs?.data_files;
  if (typeof df === 'string') return split === 'train' ? [df] : [];
  if (Array.isArray(df)) return split === 'train' ? df : [];
  const v = df?.[split];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * A split's rows. Relative paths resolve against the working directory, as
 * lm_eval (through the datasets library) resolves them — not against the YAML.
 */
export function loadSplit(t: TaskYaml, split: string, cwd = process.cwd()): Doc[] {
  const files = splitFiles(t, split);
  if (files.length === 0) throw new TaskError(`task ${t.task}: no data_files for split '${split}'`);
  const docs: Doc[] = [];
  for (const f of files) {
    const path = resolve(cwd, f);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new TaskError(`FileNotFoundError: Unable to find '${path}'`);
    }
    const trimmed = text.trimStart();
    const rows: PyValue[] = trimmed.startsWith('[') ? (parsePyJson(text) as PyValue[]) : text.split('\n').filter((l) => l.trim()).map((l) => parsePyJson(l));
    for (const r of rows) {
      if (!r || typeof r !== 'object' || Array.isArray(r) || r instanceof PyFloat) throw new TaskError(`${path}: every row must be a JSON object`);
      docs.push(r);
    }
  }
  return docs;
}

const pyStr = (v: PyValue | undefined): string => {
  if (v === undefined) throw new TaskError('template refers to a field the document lacks');
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || v instanceof PyFloat) return String(v instanceof PyFloat ? v.value : v);
  throw new TaskError('templates over lists or objects are not supported by the stand-in');
};

/** doc_to_text / doc_to_target: a field name, or a Jinja template using only {{ field }}. */
export function renderField(template: string, doc: Doc): string {
  if (Object.hasOwn(doc, template)) return pyStr(doc[template]);
  if (/\{%|\{#/.test(template)) throw new TaskError(`template ${JSON.stringify(template)}: only {{ field }} substitutions are supported by the stand-in`);
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, expr: string) => {
    if (!/^[A-Za-z_]\w*$/.test(expr)) throw new TaskError(`template expression {{ ${expr} }}: only {{ field }} substitutions are supported by the stand-in`);
    if (!Object.hasOwn(doc, expr)) throw new TaskError(`jinja2.exceptions.UndefinedError: '${expr}' is undefined`);
    return pyStr(doc[expr]);
  });
}

/** The prompt lm_eval sends for `doc`: first_n few-shot examples (never the doc itself), then the doc's text. */
export function buildPrompt(t: TaskYaml, doc: Doc, fewshotPool: Doc[]): string {
  const n = t.num_fewshot ?? 0;
  const targetDelim = t.target_delimiter ?? ' ';
  const shotDelim = t.fewshot_delimiter ?? '\n\n';
  let prefix = '';
  if (n > 0) {
    const pool = fewshotPool.filter((d) => !pyEqual(d, doc));
    if (n > pool.length) throw new TaskError(`Error: number of fewshot samples requested exceeds the ${pool.length} that are available.`);
    prefix = pool
      .slice(0, n)
      .map((s) => renderField(t.doc_to_text, s) + targetDelim + renderField(t.doc_to_target, s) + shotDelim)
      .join('');
  }
  return prefix + renderField(t.doc_to_text, doc);
}

export function evalSplit(t: TaskYaml): string {
  const split = t.test_split ?? t.validation_split;
  if (!split) throw new TaskError(`task ${t.task}: no test_split or validation_split`);
  return split;
}

export function fewshotSplit(t: TaskYaml): string {
  return t.fewshot_split ?? t.training_split ?? t.validation_split ?? evalSplit(t);
}
