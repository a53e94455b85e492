// Input checks that must pass before any server starts: a bad dataset found
// after ten minutes of model loading wastes the runner's time.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { KvgateConfig, TestId } from '../config/config.ts';
import type { ServerRole } from '../stack/stack.ts';
import { loadPromptFile } from '../workloads/datasets/long-doc.ts';
import { loadShareGpt, selectConversations, turnRequests } from '../workloads/datasets/sharegpt.ts';

/** Problems with the inputs of the selected tests, one line each (empty when all is well). */
export function preflightInputs(cfg: KvgateConfig, tests: readonly TestId[]): string[] {
  const problems: string[] = [];
  const attempt = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      problems.push((err as Error).message);
    }
  };
  if (tests.includes('long-doc') && cfg.longDoc.dataFile) attempt(() => void loadPromptFile(cfg.longDoc.dataFile!));
  if (tests.includes('share-gpt')) {
    attempt(() => {
      const { conversations } = loadShareGpt(cfg.shareGpt.dataset);
      const chosen = selectConversations(conversations, { numConversations: cfg.shareGpt.numConversations, seed: cfg.shareGpt.seed, file: cfg.shareGpt.dataset });
      if (!chosen.some((c) => turnRequests(c, cfg.shareGpt.maxTurns).length >= 2) && cfg.shareGpt.maxTurns >= 2) {
        throw new Error(`${cfg.shareGpt.dataset}: none of the ${chosen.length} chosen conversations has a second user turn, so the turns ≥ 2 criteria cannot be measured`);
      }
    });
  }
  if (tests.includes('lm-eval') && cfg.lmEval.includePath && !existsSync(cfg.lmEval.includePath)) {
    problems.push(`LM_EVAL_INCLUDE_PATH ${cfg.lmEval.includePath} does not exist`);
  }
  // A missing executable is a configuration error (exit 2), found before any server starts.
  if (cfg.script === 'run-all-tests') problems.push(...serverExecutableProblems(cfg, ['pegaflow-server', 'vllm-pegaflow']));
  if (tests.includes('lm-eval') && cfg.lmEval.bin) {
    const why = executableProblem(cfg.lmEval.bin);
    if (why) problems.push(`LM_EVAL_BIN="${cfg.lmEval.bin}": ${why}; expected the lm_eval executable (or leave LM_EVAL_BIN unset to use lm_eval on PATH or kvgate's venv)`);
  }
  return problems;
}

/** PEGAFLOW_BIN and VLLM_BIN, for the servers a script is about to start. */
export function serverExecutableProblems(cfg: KvgateConfig, roles: readonly ServerRole[]): string[] {
  const problems: string[] = [];
  const check = (envVar: string, bin: string, what: string) => {
    const why = executableProblem(bin);
    if (why) problems.push(`${envVar}="${bin}": ${why}; expected ${what}`);
  };
  if (roles.includes('pegaflow-server')) check('PEGAFLOW_BIN', cfg.pegaflow.bin, 'the pegaflow-server executable (pip install pegaflow-llm, or cargo build --release --bin pegaflow-server)');
  if (roles.some((r) => r !== 'pegaflow-server')) check('VLLM_BIN', cfg.vllm.bin, 'the vllm executable (pip install vllm)');
  return problems;
}

/** Why `bin` cannot be run: a path is checked as given, a bare name is looked up on PATH. undefined when it can. */
export function executableProblem(bin: string, path = process.env['PATH'] ?? ''): string | undefined {
  const runnable = (file: string): 'ok' | 'missing' | 'not-file' | 'not-executable' => {
    try {
      if (!statSync(file).isFile()) return 'not-file';
    } catch {
      return 'missing';
    }
    try {
      accessSync(file, constants.X_OK);
      return 'ok';
    } catch {
      return 'not-executable';
    }
  };
  if (bin.includes('/')) {
    const r = runnable(bin);
    return r === 'ok' ? undefined : r === 'missing' ? 'not found' : r === 'not-file' ? 'not a file' : 'not executable (no execute permission)';
  }
  for (const dir of path.split(delimiter)) if (runnable(join(dir || '.', bin)) === 'ok') return undefined;
  return 'not found on PATH';
}
