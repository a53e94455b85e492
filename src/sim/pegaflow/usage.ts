// `--help`, `--version` and argument errors laid out as clap 4 prints them,
// because kvgate's launcher reads `--help` to pick the flag dialect and the
// harness reports clap's errors as they come.
import { flagDisplay, flagsFor, type Dialect, type FlagSpec } from './flags.ts';

/** The real server it follows (test/fixtures/real/pegaflow/), marked as the sim. */
export const SIM_VERSION = '0.25.1-kvgate-sim';
export const BIN_NAME = 'pegaflow-server';

export function versionText(): string {
  // `--version` names the program as the real binary does (pega-engine-server), not the console script.
  return `pega-engine-server ${SIM_VERSION}\n`;
}

function entry(spec: FlagSpec): string {
  const lines = [`      ${flagDisplay(spec)}`];
  let help = spec.help;
  if (spec.ignored) help += ' (accepted, no effect in the sim)';
  if (spec.kind === 'optional-bool') help += ' [possible values: true, false]';
  if (spec.defaultText !== undefined) help += ` [default: ${spec.defaultText}]`;
  lines.push(`          ${help}`);
  return lines.join('\n');
}

export function helpText(dialect: Dialect): string {
  const visible = flagsFor(dialect).filter((f) => !f.hidden);
  const main = visible.filter((f) => f.heading === undefined);
  const sim = visible.filter((f) => f.heading === 'Simulation');
  return [
    'Simulated PegaFlow KV-cache server (kvgate): the gRPC service, HTTP endpoints and flags of pegaflow-server, without a GPU',
    '',
    `Usage: ${BIN_NAME} [OPTIONS]`,
    '',
    'Options:',
    ...main.map(entry).flatMap((e) => [e, '']),
    '  -h, --help',
    '          Print help',
    '',
    '  -V, --version',
    '          Print version',
    '',
    'Simulation:',
    ...sim.map(entry).flatMap((e) => [e, '']),
  ].join('\n');
}

const MORE = "For more information, try '--help'.";
const USAGE = `Usage: ${BIN_NAME} [OPTIONS]`;

/** Argument errors, worded as clap words them; exit code 2 goes with every one. */
export const clapError = {
  unexpectedArgument: (arg: string) => `error: unexpected argument '${arg}' found\n\n${USAGE}\n\n${MORE}\n`,
  missingValue: (spec: FlagSpec) => `error: a value is required for '${flagDisplay(spec)}' but none was supplied\n\n${MORE}\n`,
  invalidValue: (spec: FlagSpec, raw: string, why: string) => `error: invalid value '${raw}' for '${flagDisplay(spec)}': ${why}\n\n${MORE}\n`,
  unexpectedValue: (spec: FlagSpec, raw: string) => `error: unexpected value '${raw}' for '${flagDisplay(spec)}' found; no more were expected\n\n${USAGE}\n\n${MORE}\n`,
  usedMultipleTimes: (spec: FlagSpec) => `error: the argument '${flagDisplay(spec)}' cannot be used multiple times\n\n${USAGE}\n\n${MORE}\n`,
  conflict: (a: FlagSpec, b: FlagSpec) => `error: the argument '${flagDisplay(a)}' cannot be used with '${flagDisplay(b)}'\n\n${USAGE}\n\n${MORE}\n`,
};
