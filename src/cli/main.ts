// The shared shape of every ci/*.ts entry point: parse flags, print help or
// usage errors, resolve and validate the config (exit 2 before anything
// starts), run, exit with the code the run chose.
import { parseArgs, UsageError, type ParsedArgs } from '../config/args.ts';
import { ConfigError, resolveConfig, type KvgateConfig } from '../config/config.ts';
import type { Script } from '../config/options.ts';
import { usage, type ScriptDoc } from '../config/usage.ts';
import { ResultsDirExistsError } from '../results/layout.ts';
import { EXIT } from '../suite/runner.ts';

export interface CliOptions {
  maxPositionals?: number;
  /** Checks on positionals etc. after the config resolved; throw UsageError to print usage. */
  validate?: (args: ParsedArgs, cfg: KvgateConfig) => void;
}

export async function runCli(
  script: Script,
  doc: ScriptDoc,
  main: (cfg: KvgateConfig, args: ParsedArgs) => Promise<number>,
  opts: CliOptions = {},
): Promise<never> {
  const argv = process.argv.slice(2);
  let args: ParsedArgs;
  let cfg: KvgateConfig;
  try {
    args = parseArgs(script, argv, { maxPositionals: opts.maxPositionals ?? 0 });
    if (args.help) {
      process.stdout.write(usage(script, doc));
      process.exit(EXIT.passed);
    }
    cfg = resolveConfig(script, args, { env: process.env });
    opts.validate?.(args, cfg);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${script}: ${err.message}\n\n${usage(script, doc)}`);
      process.exit(EXIT.usage);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${script}: ${err.message}\nRun ${script}.ts --help for every option and its default.\n`);
      process.exit(EXIT.usage);
    }
    throw err;
  }
  let code: number;
  try {
    code = await main(cfg, args);
  } catch (err) {
    if (err instanceof ResultsDirExistsError) {
      // An explicit RESULTS_DIR/BUILD_ID that is taken: a configuration error, found before anything started.
      process.stderr.write(`${script}: ${err.message}\n`);
      code = EXIT.usage;
    } else {
      process.stderr.write(`${script}: ${(err as Error).stack ?? String(err)}\n`);
      code = EXIT.infrastructure;
    }
  }
  process.exit(code);
}
