// What a run ran on, for env.json and the reports: harness version and git
// sha, node, OS, GPUs, and the versions of the binaries the run actually used
// (config.vllm.bin, config.pegaflow.bin, lm_eval, python3), plus the exact
// server command lines. Probes run concurrently, each bounded by a short
// timeout; a missing or failing tool is recorded as such, never fatal.
import { existsSync, openSync, readSync, closeSync, readFileSync, statSync } from 'node:fs';
import { arch, cpus, hostname, platform, release, totalmem } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import type { KvgateConfig } from '../config/config.ts';
import type { ServerRecord } from '../suite/events.ts';
import { probe, type ShellResult } from '../util/shell.ts';

export const ENV_SCHEMA_VERSION = 1;

export const ToolProbeSchema = z.object({
  /** The command run, argv form. */
  command: z.array(z.string()),
  /** ok: exit 0; absent: not found / not executable; failed: ran but exited non-zero; timeout: killed after timeoutS. */
  status: z.enum(['ok', 'absent', 'failed', 'timeout']),
  /** First non-empty line of its output (ok only). */
  version: z.string().optional(),
  /** Why it is not ok: the error line, or where we looked. */
  detail: z.string().optional(),
  durationMs: z.number(),
});
export type ToolProbe = z.infer<typeof ToolProbeSchema>;

export const GpuSchema = z.object({ index: z.number(), name: z.string(), memoryTotal: z.string(), driverVersion: z.string() });
export type GpuInfo = z.infer<typeof GpuSchema>;

export const EnvironmentSchema = z.object({
  schemaVersion: z.literal(ENV_SCHEMA_VERSION),
  capturedAt: z.string(),
  harness: z.object({
    name: z.string(),
    version: z.string().optional(),
    gitSha: z.string().optional(),
    /** Tracked files modified in the checkout (untracked files are not counted). */
    gitDirty: z.boolean().optional(),
    repoRoot: z.string(),
  }),
  node: z.object({ version: z.string() }),
  os: z.object({
    platform: z.string(),
    release: z.string(),
    arch: z.string(),
    hostname: z.string(),
    cpus: z.number(),
    cpuModel: z.string().optional(),
    memoryBytes: z.number(),
  }),
  /** From nvidia-smi; empty when it is absent or lists none. */
  gpus: z.array(GpuSchema),
  /** Keyed by tool: nvidia-smi, python3, vllm, pegaflow-server, lm_eval, git. */
  tools: z.record(z.string(), ToolProbeSchema),
  servers: z.array(z.object({ role: z.string(), commandLine: z.array(z.string()), logFile: z.string() })),
});
export type Environment = z.infer<typeof EnvironmentSchema>;

/** Runs one command; injectable so tests need no real tools. */
export type ProbeFn = (command: string, args: string[], timeoutS: number) => Promise<ShellResult>;

export interface CaptureOptions {
  /** Per-probe limit; vllm --version imports torch and can take several seconds. */
  timeoutS?: number;
  probe?: ProbeFn;
  /** PATH used to find lm_eval (default: the harness's PATH). */
  pathEnv?: string;
  now?: () => Date;
}

const DEFAULT_TIMEOUT_S = 20;

function firstLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
}

/** A probe result as recorded: never throws, absent/failed/timeout told apart. */
export async function runToolProbe(run: ProbeFn, command: string, args: string[], timeoutS: number): Promise<ToolProbe> {
  return (await runToolProbeRaw(run, command, args, timeoutS)).probe;
}

async function runToolProbeRaw(run: ProbeFn, command: string, args: string[], timeoutS: number): Promise<{ probe: ToolProbe; stdout: string }> {
  const t0 = performance.now();
  const argv = [command, ...args];
  const ms = () => Math.round(performance.now() - t0);
  let r: ShellResult;
  try {
    r = await run(command, args, timeoutS);
  } catch (err) {
    return { probe: { command: argv, status: 'absent', detail: (err as Error).message, durationMs: ms() }, stdout: '' };
  }
  const durationMs = ms();
  const done = (probe: ToolProbe) => ({ probe, stdout: r.stdout });
  if (r.timedOut) return done({ command: argv, status: 'timeout', detail: `no answer within ${timeoutS}s`, durationMs });
  if (r.exitCode === 127 || r.exitCode === 126) {
    return done({ command: argv, status: 'absent', detail: firstLine(r.stderr) ?? (r.exitCode === 127 ? 'not found' : 'not executable'), durationMs });
  }
  if (!r.ok) return done({ command: argv, status: 'failed', detail: `exit ${r.exitCode}: ${firstLine(r.stderr) ?? firstLine(r.stdout) ?? 'no output'}`, durationMs });
  // Some tools print their version on stderr (python2, older clap).
  const version = firstLine(r.stdout) ?? firstLine(r.stderr);
  return done(version === undefined ? { command: argv, status: 'ok', durationMs } : { command: argv, status: 'ok', version, durationMs });
}

/** `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader` lines. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line, index) => {
      const [name = '', memoryTotal = '', driverVersion = ''] = line.split(',').map((s) => s.trim());
      return { index, name, memoryTotal, driverVersion };
    });
}

/** Finds an executable on PATH without running a shell. */
export function whichSync(name: string, pathEnv: string | undefined): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The interpreter named in a script's `#!` line (console scripts of pip installs), if any. */
export function shebangInterpreter(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '';
    if (!line.startsWith('#!')) return undefined;
    const interp = line.slice(2).trim().split(/\s+/)[0];
    return interp && isAbsolute(interp) && /python/.test(interp) ? interp : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Which lm_eval the run would use: LM_EVAL_BIN, else lm_eval on PATH, else the venv's. */
export function resolveLmEval(cfg: KvgateConfig, pathEnv: string | undefined): string | undefined {
  if (cfg.lmEval.bin) return cfg.lmEval.bin;
  const onPath = whichSync('lm_eval', pathEnv);
  if (onPath) return onPath;
  const venv = join(cfg.lmEval.venvDir, 'bin', 'lm_eval');
  return existsSync(venv) ? venv : undefined;
}

const LM_EVAL_VERSION_PY =
  "import importlib.metadata as m\nfor d in ('lm_eval', 'lm-eval'):\n    try:\n        print('lm_eval', m.version(d)); break\n    except m.PackageNotFoundError: pass\nelse:\n    raise SystemExit('lm_eval is not installed in this interpreter')";

async function lmEvalProbe(cfg: KvgateConfig, run: ProbeFn, pathEnv: string | undefined, timeoutS: number): Promise<ToolProbe> {
  const bin = resolveLmEval(cfg, pathEnv);
  if (!bin) {
    return { command: ['lm_eval'], status: 'absent', detail: `not on PATH and no venv at ${join(cfg.lmEval.venvDir, 'bin', 'lm_eval')}`, durationMs: 0 };
  }
  // lm_eval has no --version; the interpreter of its console script knows the installed distribution's version without importing it.
  const python = shebangInterpreter(bin);
  if (python) {
    const p = await runToolProbe(run, python, ['-c', LM_EVAL_VERSION_PY], timeoutS);
    return { ...p, detail: p.detail ?? `version of the lm_eval at ${bin}` };
  }
  return runToolProbe(run, bin, ['--version'], timeoutS);
}

function readPackageVersion(repoRoot: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

export interface EnvironmentWithoutServers extends Omit<Environment, 'servers'> {}

/** Everything but the server command lines (known only at the end); start it early, it overlaps server start-up. */
export async function captureEnvironment(cfg: KvgateConfig, opts: CaptureOptions = {}): Promise<EnvironmentWithoutServers> {
  const run: ProbeFn = opts.probe ?? ((c, a, t) => probe(c, a, t));
  const timeoutS = opts.timeoutS ?? DEFAULT_TIMEOUT_S;
  const pathEnv = opts.pathEnv ?? process.env['PATH'];
  const quick = Math.min(timeoutS, 10);
  const [smi, python3, vllm, pegaflow, lmEval, gitSha, gitStatus] = await Promise.all([
    runToolProbeRaw(run, 'nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], quick),
    runToolProbe(run, 'python3', ['--version'], quick),
    runToolProbe(run, cfg.vllm.bin, ['--version'], timeoutS),
    runToolProbe(run, cfg.pegaflow.bin, ['--version'], timeoutS),
    lmEvalProbe(cfg, run, pathEnv, timeoutS),
    runToolProbe(run, 'git', ['-C', cfg.repoRoot, 'rev-parse', 'HEAD'], quick),
    runToolProbe(run, 'git', ['-C', cfg.repoRoot, 'status', '--porcelain', '--untracked-files=no'], quick),
  ]);
  // nvidia-smi's first line is its first GPU: keep the tool entry short and the GPUs structured.
  const nvidiaSmi = smi.probe;
  const gpus = nvidiaSmi.status === 'ok' ? parseNvidiaSmi(smi.stdout) : [];
  if (gpus.length) nvidiaSmi.version = `${gpus.length} GPU(s), driver ${gpus[0]!.driverVersion}`;
  const cpuList = cpus();
  const now = opts.now ?? (() => new Date());
  const harness: EnvironmentWithoutServers['harness'] = { name: 'kvgate', repoRoot: cfg.repoRoot };
  const version = readPackageVersion(cfg.repoRoot);
  if (version) harness.version = version;
  if (gitSha.status === 'ok' && gitSha.version && /^[0-9a-f]{7,64}$/.test(gitSha.version)) {
    harness.gitSha = gitSha.version;
    if (gitStatus.status === 'ok') harness.gitDirty = (gitStatus.version ?? '') !== '';
  }
  const os: EnvironmentWithoutServers['os'] = {
    platform: platform(),
    release: release(),
    arch: arch(),
    hostname: hostname(),
    cpus: cpuList.length,
    memoryBytes: totalmem(),
  };
  if (cpuList[0]?.model) os.cpuModel = cpuList[0].model.trim();
  return {
    schemaVersion: ENV_SCHEMA_VERSION,
    capturedAt: now().toISOString(),
    harness,
    node: { version: process.version },
    os,
    gpus,
    tools: {
      'nvidia-smi': nvidiaSmi,
      python3,
      vllm,
      'pegaflow-server': pegaflow,
      lm_eval: lmEval,
      git: gitSha,
    },
  };
}

export function withServers(env: EnvironmentWithoutServers, servers: readonly ServerRecord[]): Environment {
  return { ...env, servers: servers.map((s) => ({ role: s.role, commandLine: [...s.commandLine], logFile: s.logFile })) };
}

export class EnvironmentFileError extends Error {
  override name = 'EnvironmentFileError';
}

/** Reads and validates env.json; the error names the file and the first problem. */
export function readEnvironment(dir: string): Environment {
  const file = join(dir, 'env.json');
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EnvironmentFileError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(err as Error).message})`}`);
  }
  const r = EnvironmentSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new EnvironmentFileError(`${file}: invalid at ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

