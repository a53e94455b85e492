// Command-line parsing against the option table: `--name value`, `--name=value`,
// switches, `-h/--help`, positionals. Unknown flags are a usage error.
import { OPTIONS, type OptionId, type OptionSpec, type Script } from './options.ts';

export class UsageError extends Error {}

export interface ParsedArgs {
  /** Raw flag values by option id (`'true'` for switches). */
  flags: Map<OptionId, string>;
  positionals: string[];
  help: boolean;
}

/** Flag spellings accepted by a script, mapped to option ids. */
export function flagsFor(script: Script): Map<string, OptionId> {
  const byFlag = new Map<string, OptionId>();
  for (const [id, spec] of Object.entries(OPTIONS) as [OptionId, OptionSpec][]) {
    if (!spec.flag || !spec.scripts?.includes(script)) continue;
    for (const name of [spec.flag, ...(spec.aliases ?? [])]) {
      const clash = byFlag.get(name);
      if (clash) throw new Error(`internal: flag ${name} of ${script} maps to both ${clash} and ${id}`);
      byFlag.set(name, id);
    }
  }
  return byFlag;
}

export function parseArgs(script: Script, argv: readonly string[], opts: { maxPositionals?: number } = {}): ParsedArgs {
  const known = flagsFor(script);
  const flags = new Map<OptionId, string>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const id = known.get(name);
    if (!id) throw new UsageError(`unknown option ${name}`);
    const spec: OptionSpec = OPTIONS[id];
    if (spec.switch) {
      if (eq >= 0) throw new UsageError(`option ${name} takes no value (got "${arg}")`);
      flags.set(id, 'true');
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) throw new UsageError(`option ${name} needs a value`);
      i++;
    }
    flags.set(id, value);
  }
  if (opts.maxPositionals !== undefined && positionals.length > opts.maxPositionals) {
    throw new UsageError(`unexpected argument${positionals.length - opts.maxPositionals > 1 ? 's' : ''}: ${positionals.slice(opts.maxPositionals).join(' ')}`);
  }
  return { flags, positionals, help };
}
