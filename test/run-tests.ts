// `npm test`: runs tap over the test files (arguments pass through to tap),
// then counts real tests — leaf subtests, i.e. `t.test(...)` blocks that hold
// assertions rather than further subtests — from the TAP results tap saved,
// and ends with the line `N passed, N failed`. Exit status is tap's.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, type Result } from 'tap-parser';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(root, '.tap', 'test-results');

export interface Counts {
  passed: number;
  failed: number;
  failures: string[];
}

/** Counts leaf subtests in one TAP stream; a file with none counts as one test. */
export function countLeafTests(tap: string, fileName: string): Counts {
  const counts: Counts = { passed: 0, failed: 0, failures: [] };
  const watch = (parser: Parser, path: string[]) => {
    let pending: { child: Parser; hasChildren: () => boolean } | undefined;
    parser.on('child', (child: Parser) => {
      let children = 0;
      child.on('child', () => children++);
      pending = { child, hasChildren: () => children > 0 };
      watch(child, [...path, child.name]);
    });
    parser.on('assert', (res: Result) => {
      if (!pending) return; // a plain assertion, not a subtest's summary line
      const { hasChildren } = pending;
      pending = undefined;
      if (hasChildren()) return; // a group of tests; its leaves were counted
      if (res.ok) counts.passed++;
      else {
        counts.failed++;
        counts.failures.push([...path, res.name].join(' › '));
      }
    });
  };
  const top = new Parser();
  let fileOk = true;
  top.on('complete', (r: { ok: boolean }) => (fileOk = r.ok));
  watch(top, [fileName]);
  top.end(tap);
  if (counts.passed + counts.failed === 0 || (!fileOk && counts.failed === 0)) {
    // No subtests, or the file itself failed (crash, timeout) outside any subtest.
    if (fileOk) counts.passed++;
    else {
      counts.failed++;
      counts.failures.push(`${fileName} (the file itself failed)`);
    }
  }
  return counts;
}

function tapFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(tapFiles(p));
    else if (name.endsWith('.tap')) out.push(p);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  rmSync(resultsDir, { recursive: true, force: true });
  const tap = spawnSync(join(root, 'node_modules', '.bin', 'tap'), process.argv.slice(2), { cwd: root, stdio: 'inherit' });
  const total: Counts = { passed: 0, failed: 0, failures: [] };
  let files: string[] = [];
  try {
    files = tapFiles(resultsDir);
  } catch {
    // tap wrote nothing (crashed before any file ran)
  }
  for (const f of files) {
    const c = countLeafTests(readFileSync(f, 'utf8'), relative(resultsDir, f).replace(/\.tap$/, ''));
    total.passed += c.passed;
    total.failed += c.failed;
    total.failures.push(...c.failures);
  }
  const status = tap.status ?? 1;
  if (files.length === 0 && status !== 0) total.failed++;
  if (total.failures.length) process.stdout.write(`\nFailed tests:\n${total.failures.map((f) => `  ✘ ${f}`).join('\n')}\n`);
  process.stdout.write(`\n${total.passed} passed, ${total.failed} failed\n`);
  process.exit(status === 0 && total.failed > 0 ? 1 : status);
}
