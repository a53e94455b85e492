// Every ci/*.ts entry point answers --help with exit 0 and lists every option
// and env var it reads, with its default; an unknown flag prints usage, exit 2.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { GROUPS_BY_SCRIPT } from '../../src/config/config.ts';
import { OPTIONS, type OptionSpec, type Script } from '../../src/config/options.ts';

const ROOT = process.cwd();
const ENTRY: Record<Script, string> = {
  'run-all-tests': 'run-all-tests.ts',
  'start-servers': 'start-servers.ts',
  'run-lm-eval': 'run-lm-eval.ts',
  'run-long-doc-qa': 'run-long-doc-qa.ts',
  'run-share-gpt': 'run-share-gpt.ts',
  'self-test': 'self-test.ts',
};

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // From another directory: entry points must not depend on the cwd.
    execFile(join(ROOT, 'ci', file), args, { cwd: '/', encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

for (const [script, file] of Object.entries(ENTRY) as [Script, string][]) {
  t.test(`ci/${file} --help`, async (t) => {
    const r = await run(file, ['--help']);
    t.equal(r.code, 0, 'exit 0');
    t.match(r.stdout, /^Usage: ci\//);
    for (const spec of Object.values(OPTIONS) as OptionSpec[]) {
      if (spec.flag && spec.scripts?.includes(script)) t.ok(r.stdout.includes(spec.flag), `lists ${spec.flag}`);
      if (spec.env && GROUPS_BY_SCRIPT[script].includes(spec.group)) t.ok(r.stdout.includes(spec.env), `lists ${spec.env}`);
    }
    t.match(r.stdout, /\(default: /, 'with defaults');
    const bad = await run(file, ['--definitely-not-a-flag']);
    t.equal(bad.code, 2, 'unknown flag: exit 2');
    t.match(bad.stderr, /unknown option --definitely-not-a-flag[\s\S]*Usage: /, 'names the flag, then usage');
  });
}
