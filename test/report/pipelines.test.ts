import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { parseArgs, UsageError } from '../../src/config/args.ts';
import { SCRIPTS, type Script } from '../../src/config/options.ts';
import { parseCompareArgs } from '../../src/report/compare-cli.ts';

const ROOT = process.cwd();
const HEADER_LINE_2 = `':' //; exec node --import "$(dirname "$(readlink -f "$0")")/../node_modules/tsx/dist/esm/index.mjs" "$(readlink -f "$0")" "$@"`;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** Shell words of a command line (quotes honoured; enough for CI templates). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

interface Invocation {
  script: string;
  args: string[];
  where: string;
}

/** Every ci/*.ts call in a block of shell commands, with its arguments up to the next shell operator. */
function ciInvocations(commands: string[], where: string): Invocation[] {
  const out: Invocation[] = [];
  for (const block of commands) {
    for (const line of block.split('\n')) {
      const w = words(line.replace(/#.*$/, ''));
      for (let i = 0; i < w.length; i++) {
        const m = /^(?:\.\/)?(ci\/[\w-]+\.ts)$/.exec(w[i]!);
        if (!m) continue;
        const args: string[] = [];
        for (let j = i + 1; j < w.length && !['&&', '||', ';', '|'].includes(w[j]!); j++) args.push(w[j]!);
        out.push({ script: m[1]!, args, where });
      }
    }
  }
  return out;
}

function checkInvocation(t: Test, inv: Invocation): void {
  const path = join(ROOT, inv.script);
  t.ok(existsSync(path), `${inv.where}: ${inv.script} exists`);
  if (!existsSync(path)) return;
  t.doesNotThrow(() => accessSync(path, constants.X_OK), `${inv.where}: ${inv.script} is executable`);
  t.equal(readFileSync(path, 'utf8').split('\n')[1], HEADER_LINE_2, `${inv.where}: ${inv.script} has the executable-TS header`);
  const name = inv.script.replace(/^ci\//, '').replace(/\.ts$/, '');
  if (name === 'compare-runs') {
    t.doesNotThrow(() => parseCompareArgs(inv.args), `${inv.where}: compare-runs accepts ${inv.args.join(' ')}`);
    return;
  }
  t.ok((SCRIPTS as readonly string[]).includes(name), `${inv.where}: ${name} is a kvgate script`);
  let problem = '';
  try {
    parseArgs(name as Script, inv.args, { maxPositionals: name === 'start-servers' ? 1 : 0 });
  } catch (err) {
    problem = err instanceof UsageError ? err.message : String(err);
  }
  t.equal(problem, '', `${inv.where}: ${inv.script} accepts "${inv.args.join(' ')}"`);
}

t.test('the invocation checker itself rejects an unknown flag and a missing script', async (t) => {
  const bad = ciInvocations(['ci/run-all-tests.ts --quik', 'npm ci && ./ci/nope.ts'], 'x');
  t.same(bad.map((b) => b.script), ['ci/run-all-tests.ts', 'ci/nope.ts']);
  t.throws(() => parseArgs('run-all-tests', bad[0]!.args, { maxPositionals: 0 }), { message: 'unknown option --quik' });
  t.notOk(existsSync(join(ROOT, bad[1]!.script)));
});

t.test('buildkite.yml: GPU queue, --quick on every build, full suite nightly, results uploaded, a CPU step on the sim stack', async (t) => {
  const doc = obj(parse(readFileSync(join(ROOT, 'ci/pipelines/buildkite.yml'), 'utf8')));
  const steps = list(doc['steps']).map(obj);
  t.ok(steps.length >= 3);
  const invocations: Invocation[] = [];
  for (const s of steps) {
    const cmds = [...list(s['command']), ...list(s['commands'])].map(String);
    t.ok(cmds.length, `step ${String(s['key'])} runs something`);
    invocations.push(...ciInvocations(cmds, `buildkite step ${String(s['key'])}`));
    t.ok(list(s['artifact_paths']).includes('results/**/*'), `step ${String(s['key'])} uploads results/**/*`);
  }
  t.ok(invocations.length >= 3);
  for (const inv of invocations) checkInvocation(t, inv);

  const gpu = steps.filter((s) => obj(s['agents'])['queue'] === 'gpu');
  const runs = (s: Obj) => ciInvocations([...list(s['command']), ...list(s['commands'])].map(String), '').filter((i) => i.script === 'ci/run-all-tests.ts');
  const quick = gpu.filter((s) => runs(s).some((i) => i.args.includes('--quick')));
  const full = gpu.filter((s) => runs(s).some((i) => !i.args.includes('--quick') && !i.args.includes('--stack')));
  t.equal(quick.length, 1, 'one quick GPU step');
  t.equal(full.length, 1, 'one full GPU step');
  t.match(String(quick[0]?.['if']), /build\.source != "schedule"/, 'quick on every non-scheduled build');
  t.match(String(full[0]?.['if']), /build\.source == "schedule"/, 'full suite on the nightly schedule');
  t.match(String(full[0]?.['if']), /build\.env\("KVGATE_FULL"\) == "1"/, 'or with KVGATE_FULL=1');
  const sim = steps.filter((s) => runs(s).some((i) => i.args.join(' ').includes('--stack sim')));
  t.equal(sim.length, 1, 'a step on the simulated stack');
  t.not(obj(sim[0]?.['agents'])['queue'], 'gpu', 'on a CPU agent');
  t.ok(typeof obj(doc['env'])['MODEL'] === 'string', 'MODEL set');
});

t.test('github-actions.yml: self-hosted GPU labels, --quick on pull_request, nightly full suite, upload-artifact if: always(), a CPU sim job', async (t) => {
  const doc = obj(parse(readFileSync(join(ROOT, 'ci/pipelines/github-actions.yml'), 'utf8')));
  const on = obj(doc['on']);
  t.ok('pull_request' in on, 'runs on pull requests');
  t.match(String(obj(list(on['schedule'])[0])['cron']), /^\S+ \S+ \* \* \*$/, 'nightly schedule');
  const jobs: (Obj & { id: string })[] = Object.entries(obj(doc['jobs'])).map(([id, j]) => ({ ...obj(j), id }));
  const invocations: Invocation[] = [];
  const runsOf = (j: Obj) => list(j['steps']).map(obj).filter((s) => typeof s['run'] === 'string').map((s) => String(s['run']));
  for (const j of jobs) {
    invocations.push(...ciInvocations(runsOf(j), `github job ${j.id}`));
    const upload = list(j['steps']).map(obj).find((s) => String(s['uses']).startsWith('actions/upload-artifact@'));
    t.ok(upload, `job ${j.id} uploads an artefact`);
    t.equal(upload?.['if'], 'always()', `job ${j.id} uploads with if: always()`);
    t.match(String(obj(upload?.['with'])['path']), /^results\/?$/, `job ${j.id} uploads results/`);
  }
  for (const inv of invocations) checkInvocation(t, inv);

  const suite = (j: Obj) => ciInvocations(runsOf(j), '').filter((i) => i.script === 'ci/run-all-tests.ts');
  const isGpu = (j: Obj) => {
    const labels = list(j['runs-on']).map(String);
    return labels.includes('self-hosted') && labels.includes('gpu');
  };
  const quick = jobs.filter((j) => isGpu(j) && suite(j).some((i) => i.args.includes('--quick')));
  const full = jobs.filter((j) => isGpu(j) && suite(j).some((i) => i.args.length === 0));
  t.equal(quick.length, 1, 'a quick job on the self-hosted GPU runner');
  t.match(String(quick[0]?.['if']), /github\.event_name == 'pull_request'/);
  t.match(String(quick[0]?.['if']), /head\.repo\.full_name == github\.repository/, 'not for forks');
  t.equal(full.length, 1, 'a full job on the self-hosted GPU runner');
  t.match(String(full[0]?.['if']), /github\.event_name == 'schedule'/);
  const sim = jobs.filter((j) => suite(j).some((i) => i.args.join(' ') === '--stack sim'));
  t.equal(sim.length, 1, 'a job on the simulated stack');
  t.notOk(isGpu(sim[0]!), 'on a hosted CPU runner');
  for (const j of jobs) t.match(String(obj(j['env'])['KVGATE_ARTIFACT_NAME']), /^kvgate-results-/, `job ${j.id} names its artefact for the summary`);
});

t.test('ci/pipelines/README.md documents both templates', async (t) => {
  const md = readFileSync(join(ROOT, 'ci/pipelines/README.md'), 'utf8');
  for (const needle of ['buildkite.yml', 'github-actions.yml', 'artifact_paths', 'if: always()', 'queue: gpu', 'self-hosted', 'KVGATE_FULL=1', '--stack sim', '--quick', 'do not change the run\'s exit code']) {
    t.ok(md.includes(needle), `mentions ${needle}`);
  }
});
