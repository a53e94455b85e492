// ci/compare-runs.ts <old-dir> <new-dir> [--tolerance 0.1] [--json]
// Exit 0: no regressions; 1: regressions; 2: bad input (usage, unreadable or invalid summary.json).
import { UsageError } from '../config/args.ts';
import { EXIT } from '../suite/runner.ts';
import { DEFAULT_TOLERANCE, compareSummaries } from './compare.ts';
import { renderComparisonTable } from './compare-render.ts';
import { readSummary, SummaryError } from './summary.ts';

export const COMPARE_USAGE = `Usage: ci/compare-runs.ts <old-results-dir> <new-results-dir> [--tolerance 0.1] [--json]

Compares the figures of two kvgate runs (their summary.json): TTFT, speedup,
cache hits, failed requests and failed criteria per test, and flags changes
for the worse beyond the tolerance as regressions (TTFT up, speedup down,
failures up, hits down). Figures present in only one run are listed.

Options:
  --tolerance <fraction|percent>  relative change tolerated (default ${DEFAULT_TOLERANCE}, i.e. 10%;
                                  also "15%"); env REGRESSION_TOLERANCE sets the default
  --json                          print the comparison as JSON instead of a table
  -h, --help                      this text

Exit status: 0 no regressions, 1 regressions found, 2 bad input.
`;

export interface CompareArgs {
  oldDir: string;
  newDir: string;
  tolerance: number;
  json: boolean;
  help: boolean;
}

export function parseTolerance(raw: string, source: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(raw);
  const v = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!Number.isFinite(v) || v < 0 || v > 10) throw new UsageError(`${source}: expected a fraction such as 0.1 or a percentage such as 10% (got "${raw}")`);
  return v;
}

export function parseCompareArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CompareArgs {
  const positionals: string[] = [];
  let tolerance = env['REGRESSION_TOLERANCE'] ? parseTolerance(env['REGRESSION_TOLERANCE'], 'REGRESSION_TOLERANCE') : DEFAULT_TOLERANCE;
  let json = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '--json') json = true;
    else if (arg === '--tolerance' || arg.startsWith('--tolerance=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (value === undefined) throw new UsageError('option --tolerance needs a value');
      tolerance = parseTolerance(value, '--tolerance');
    } else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg.split('=')[0]}`);
    else positionals.push(arg);
  }
  if (!help && positionals.length !== 2) throw new UsageError(`expected two results directories, got ${positionals.length}${positionals.length ? ` (${positionals.join(' ')})` : ''}`);
  return { oldDir: positionals[0] ?? '', newDir: positionals[1] ?? '', tolerance, json, help };
}

export interface CompareIo {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export function runCompareCli(argv: readonly string[], io: CompareIo): number {
  let args: CompareArgs;
  try {
    args = parseCompareArgs(argv, io.env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err.write(`compare-runs: ${e.message}\n\n${COMPARE_USAGE}`);
      return EXIT.usage;
    }
    throw e;
  }
  if (args.help) {
    io.out.write(COMPARE_USAGE);
    return EXIT.passed;
  }
  try {
    const c = compareSummaries(readSummary(args.oldDir), readSummary(args.newDir), { tolerance: args.tolerance, oldDir: args.oldDir, newDir: args.newDir });
    const color = Boolean(io.out.isTTY) && !io.env['NO_COLOR'] && !io.env['CI'];
    io.out.write(args.json ? JSON.stringify(c, null, 2) + '\n' : renderComparisonTable(c, color) + '\n');
    return c.regressions > 0 ? EXIT.failed : EXIT.passed;
  } catch (e) {
    if (e instanceof SummaryError) {
      io.err.write(`compare-runs: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}
