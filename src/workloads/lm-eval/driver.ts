// Driving the lm_eval CLI: which binary, which arguments, which environment.
// The harness never knows whether it drives the real lm_eval or the stand-in.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { probe } from '../../util/shell.ts';
import type { GuardedRunner } from '../../stack/run-process.ts';

export interface LmEvalRunSpec {
  servedModelName: string;
  /** Full URL of /v1/completions. */
  baseUrl: string;
  task: string;
  includePath: string | undefined;
  limit: number;
  concurrent: number;
  seed: number;
  outputPath: string;
}

/**
 * The bash suite's arguments, plus tokenizer_backend=None: with
 * tokenized_requests=False no tokenizer is needed, and the default
 * (huggingface) would require transformers and the hub.
 */
export function buildLmEvalArgs(s: LmEvalRunSpec): string[] {
  return [
    '--model', 'local-completions',
    '--tasks', s.task,
    ...(s.includePath ? ['--include_path', s.includePath] : []),
    '--model_args', `model=${s.servedModelName},base_url=${s.baseUrl},num_concurrent=${s.concurrent},max_retries=3,tokenized_requests=False,tokenizer_backend=None`,
    '--limit', String(s.limit),
    '--seed', String(s.seed),
    '-s',
    '--output_path', s.outputPath,
    '--gen_kwargs', '{"temperature": 0.0}',
  ];
}

/** Local tasks need no network: keep the datasets library and the hub offline. */
export function lmEvalEnv(includePath: string | undefined): Record<string, string> {
  return includePath ? { HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' } : { TOKENIZERS_PARALLELISM: 'false' };
}

export class LmEvalNotFound extends Error {}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface ResolveOptions {
  lmEvalBin: string | undefined;
  allowVenv: boolean;
  venvDir: string;
  requirementsFile: string;
  installTimeoutS: number;
  logFile: string;
  runProcess: GuardedRunner;
  signal?: AbortSignal;
  onInstall?: (message: string) => void;
}

/** LM_EVAL_BIN, else lm_eval on PATH, else the kvgate venv (created and filled on first use unless --no-venv). */
export async function resolveLmEvalBinary(o: ResolveOptions): Promise<{ bin: string; how: string }> {
  if (o.lmEvalBin) {
    if (!executable(o.lmEvalBin)) throw new LmEvalNotFound(`LM_EVAL_BIN=${o.lmEvalBin} is not an executable file`);
    return { bin: o.lmEvalBin, how: 'LM_EVAL_BIN' };
  }
  const onPath = await probe('sh', ['-c', 'command -v lm_eval'], 10);
  if (onPath.ok && onPath.stdout.trim()) return { bin: onPath.stdout.trim(), how: 'PATH' };
  const venvBin = join(o.venvDir, 'bin', 'lm_eval');
  if (executable(venvBin)) return { bin: venvBin, how: `venv ${o.venvDir}` };
  if (!o.allowVenv) {
    throw new LmEvalNotFound(`lm_eval not found: set LM_EVAL_BIN, put lm_eval on PATH (pip install -r ${o.requirementsFile}), or drop --no-venv / LM_EVAL_NO_VENV to let kvgate create ${o.venvDir}`);
  }
  o.onInstall?.(`lm_eval not found; creating ${o.venvDir} and installing ${o.requirementsFile} (once; LM_EVAL_INSTALL_TIMEOUT bounds it)`);
  const script = [
    'set -e',
    `python3 -m venv "${o.venvDir}"`,
    `"${o.venvDir}/bin/pip" install --disable-pip-version-check -q -r "${o.requirementsFile}"`,
  ].join('\n');
  const started = performance.now();
  const res = await o.runProcess({ name: 'lm_eval-install', command: 'sh', args: ['-c', script], env: {}, logFile: o.logFile }, { phase: 'lm_eval install', timeoutS: o.installTimeoutS, signal: o.signal });
  if (res.exit.code !== 0 || !executable(venvBin)) {
    throw new LmEvalNotFound(`installing lm-eval into ${o.venvDir} failed (exit ${res.exit.code ?? res.exit.signal}); log ${o.logFile}:\n${res.logTail}`);
  }
  o.onInstall?.(`lm-eval installed in ${((performance.now() - started) / 1000).toFixed(0)}s`);
  return { bin: venvBin, how: `venv ${o.venvDir} (installed now)` };
}

export function requirementsFile(repoRoot: string): string {
  return join(repoRoot, 'datasets', 'lm_eval', 'requirements-lm-eval.txt');
}

export function includePathExists(p: string | undefined): boolean {
  return p === undefined || existsSync(p);
}
