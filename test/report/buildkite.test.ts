import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { annotationStyle } from '../../src/report/buildkite.ts';
import { defaultReporters } from '../../src/report/index.ts';
import { buildSummary } from '../../src/report/summary.ts';
import { drive, fakeProbe, MemoryStream } from './fixtures/drive.ts';
import { faultyFixture, passingFixture } from './fixtures/outcomes.ts';

/** A fake buildkite-agent on PATH that records its arguments and stdin; exits with `code`. */
function fakeAgent(code = 0): { bin: string; argsFile: string; stdinFile: string } {
  const bin = mkdtempSync(join(tmpdir(), 'kvgate-bk-'));
  const argsFile = join(bin, 'args.txt');
  const stdinFile = join(bin, 'stdin.md');
  const script = join(bin, 'buildkite-agent');
  writeFileSync(
    script,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${argsFile}'\ncat > '${stdinFile}'\n${code ? `echo "fatal: annotation rejected" >&2\nexit ${code}\n` : ''}`,
  );
  chmodSync(script, 0o755);
  return { bin, argsFile, stdinFile };
}

function bkEnv(binDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    BUILDKITE: 'true',
    CI: 'true',
    PATH: `${binDir}:/usr/bin:/bin`,
    BUILDKITE_BUILD_URL: 'https://buildkite.com/acme/kvgate/builds/7',
    BUILDKITE_JOB_ID: 'job-123',
    ...extra,
  };
}

t.test('a faulty run annotates the build with style error, context kvgate and the Markdown on stdin', async (t) => {
  const f = faultyFixture();
  const agent = fakeAgent();
  const out = new MemoryStream(false);
  const errors = await drive(defaultReporters(f.cfg, { printConfig: false, env: bkEnv(agent.bin), out, capture: { probe: fakeProbe } }), f.outcome);
  t.same(errors, []);
  const args = readFileSync(agent.argsFile, 'utf8').trimEnd().split('\n');
  t.same(args, ['annotate', '--style', 'error', '--context', 'kvgate'], 'the real CLI’s flags; body from stdin, not an argument');
  const md = readFileSync(agent.stdinFile, 'utf8');
  t.match(md, /^## ❌ kvgate FAILED/);
  t.match(md, /\| long-doc-qa \| ❌ fail \|/, 'summary table');
  t.match(md, /\| ✘ fail \| failed requests &lt;= 0% \|/, 'criteria');
  t.match(md, /https:\/\/buildkite\.com\/acme\/kvgate\/builds\/7#job-123/, 'link to the job and its artefacts');
  t.match(md, /`results\/run-1\/junit\.xml`/);
  // Server log tails in collapsed Buildkite groups.
  t.match(out.text, /^--- vllm-pegaflow log, last 80 lines/m);
  t.notMatch(out.text, /\x1b\[/, 'no ANSI codes');
});

t.test('a passing run is a success annotation; a step key gives its own context', async (t) => {
  const f = passingFixture();
  const agent = fakeAgent();
  const out = new MemoryStream(false);
  await drive(defaultReporters(f.cfg, { printConfig: false, env: bkEnv(agent.bin, { BUILDKITE_STEP_KEY: 'gpu-quick' }), out, capture: { probe: fakeProbe } }), f.outcome);
  t.same(readFileSync(agent.argsFile, 'utf8').trimEnd().split('\n'), ['annotate', '--style', 'success', '--context', 'kvgate-gpu-quick']);
  t.match(readFileSync(agent.stdinFile, 'utf8'), /## ✅ kvgate PASSED/);
  t.notMatch(out.text, /^--- /m, 'no log groups when everything passed');
});

t.test('interrupted runs and passing runs with warnings are warning annotations', async (t) => {
  const f = passingFixture();
  t.equal(annotationStyle(buildSummary(f.outcome)), 'success');
  t.equal(annotationStyle(buildSummary({ ...f.outcome, warnings: ['baseline shares GPU 0'] })), 'warning');
  t.equal(annotationStyle(buildSummary({ ...f.outcome, status: 'INTERRUPTED', exitCode: 130 })), 'warning');
  t.equal(annotationStyle(buildSummary(faultyFixture().outcome)), 'error');
});

t.test('an agent that fails is reported as a reporter error, not a crash', async (t) => {
  const f = passingFixture();
  const agent = fakeAgent(1);
  const errors = await drive(defaultReporters(f.cfg, { printConfig: false, env: bkEnv(agent.bin), out: new MemoryStream(), capture: { probe: fakeProbe } }), f.outcome);
  t.equal(errors.length, 1);
  t.match(errors[0], /reporter buildkite failed at the end: .*buildkite-agent annotate --style success --context kvgate failed \(exit 1\): fatal: annotation rejected/);
});

t.test('no annotation without BUILDKITE=true or without buildkite-agent on PATH', async (t) => {
  const f = passingFixture();
  const agent = fakeAgent();
  const off = defaultReporters(f.cfg, { printConfig: false, env: { ...bkEnv(agent.bin), BUILDKITE: undefined }, out: new MemoryStream(), capture: { probe: fakeProbe } });
  t.notOk(off.some((r) => r.name === 'buildkite'));
  const noAgent = defaultReporters(f.cfg, { printConfig: false, env: { ...bkEnv(agent.bin), PATH: '/nonexistent' }, out: new MemoryStream(), capture: { probe: fakeProbe } });
  t.notOk(noAgent.some((r) => r.name === 'buildkite'));
  await drive(off, f.outcome);
  t.notOk(existsSync(agent.argsFile), 'the agent was never called');
});
