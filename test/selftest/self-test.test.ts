// ci/self-test.ts end to end on the simulated stack: it passes when every
// detection works, and reports ✘ when one detection is switched off.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processesWithToken, TOKEN_ENV } from '../../src/selftest/run-scenario.ts';
import type { SelfTestReport } from '../../src/selftest/report.ts';

const ROOT = process.cwd();
const SELF_TEST = join(ROOT, 'ci', 'self-test.ts');

function selfTest(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string; dir: string }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'kvgate-selftest-')), 'st');
  return new Promise((resolve) => {
    execFile(SELF_TEST, args, { env: { ...process.env, ...env, RESULTS_DIR: dir, SELF_TEST_JOBS: '1' }, encoding: 'utf8', maxBuffer: 32 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, dir });
    });
  });
}

const readReport = (dir: string) => JSON.parse(readFileSync(join(dir, 'self-test.json'), 'utf8')) as SelfTestReport;

t.test('the self-test passes when the suite catches the fault', async (t) => {
  const r = await selfTest(['drop-saves+ignore-reset', 'startup-fail-vllm']);
  if (r.code !== 0) t.comment(r.stdout + r.stderr);
  t.equal(r.code, 0, 'exit 0');
  t.match(r.stdout, /drop-saves\+ignore-reset .*fail ✔/);
  t.match(r.stdout, /startup-fail-vllm .*error ✔/);
  t.match(r.stdout, /self-test PASSED: 2\/2/);
  const report = readReport(r.dir);
  t.equal(report.ok, true);
  t.same(report.scenarios.map((s) => s.leftovers), [[], []], 'no process of either run left behind');
  t.match(readFileSync(join(r.dir, 'junit.xml'), 'utf8'), /tests="4" failures="0"/);
});

t.test('with the cache-evidence check switched off, the self-test reports the missed detection', async (t) => {
  // drop-saves+ignore-reset is caught by cache evidence alone: its warm TTFT is fast (GPU cache).
  const r = await selfTest(['drop-saves+ignore-reset'], { KVGATE_INTERNAL_DISABLE_CHECKS: 'cache-used' });
  t.equal(r.code, 1, 'exit 1 on an unexpected verdict');
  t.match(r.stdout, /DISABLED checks: cache-used/);
  t.match(r.stdout, /drop-saves\+ignore-reset .*fail → pass ✘/);
  t.match(r.stdout, /criterion cache-used skipped, expected fail/);
  t.match(r.stdout, /self-test FAILED: 0\/1/);
  const report = readReport(r.dir);
  t.equal(report.ok, false);
  t.equal(report.scenarios[0]!.cells[0]!.got.status, 'pass');
  t.match(readFileSync(join(r.dir, 'junit.xml'), 'utf8'), /<failure type="unexpected-verdict"/);
});

t.test('--list and bad input', async (t) => {
  const list = await selfTest(['--list']);
  t.equal(list.code, 0);
  for (const name of ['clean-full', 'corrupt-load', 'baseline-faster']) t.match(list.stdout, name);
  const bad = await selfTest(['no-such-scenario']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /unknown scenario no-such-scenario; known: clean-quick/);
  const badRepeat = await selfTest(['--repeat', '-1']);
  t.equal(badRepeat.code, 2);
  t.match(badRepeat.stderr, /--repeat="-1": expected a whole number from 0 to 1000/);
});

t.test('leftover processes are found by the run marker in their environment', async (t) => {
  const token = `test-${process.pid}-${Date.now()}`;
  const child = spawn('sleep', ['30'], { env: { ...process.env, [TOKEN_ENV]: token }, stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  await sleep(100);
  t.same(processesWithToken(token), [child.pid]);
  t.same(processesWithToken(`${token}-other`), [], 'another run\'s marker does not match');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.same(processesWithToken(token), []);
});
