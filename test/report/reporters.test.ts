import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultReporters } from '../../src/report/index.ts';
import { readSummary } from '../../src/report/summary.ts';
import { readEnvironment } from '../../src/env/capture.ts';
import { EventBus } from '../../src/suite/events.ts';
import { drive, fakeProbe, MemoryStream } from './fixtures/drive.ts';
import { faultyFixture } from './fixtures/outcomes.ts';
import { parseXml } from './fixtures/xml.ts';

t.test('outside CI a run gets terminal, .result files, env.json, summary.json, junit.xml and report.html', async (t) => {
  const f = faultyFixture();
  const out = new MemoryStream(false);
  const reporters = defaultReporters(f.cfg, { printConfig: true, env: { PATH: '/usr/bin:/bin' }, out, capture: { probe: fakeProbe } });
  t.same(
    reporters.map((r) => r.name),
    ['result-files', 'environment', 'summary', 'junit', 'html', 'terminal'],
    'terminal last, so its closing lines end the output',
  );
  t.same(await drive(reporters, f.outcome), [], 'no reporter failed');
  for (const file of ['summary.json', 'junit.xml', 'report.html', 'env.json', 'overall.result', 'long-doc-qa.result', 'kvgate.log']) {
    t.ok(existsSync(join(f.dir, file)), `${file} written`);
  }
  t.equal(readSummary(f.dir).environment?.servers.length, 3, 'summary carries the environment with server command lines');
  t.equal(readEnvironment(f.dir).tools['vllm']?.version, 'vllm 1.2.3');
  t.ok(parseXml(readFileSync(join(f.dir, 'junit.xml'), 'utf8')));
  t.match(out.text, /reports: .*report\.html, .*summary\.json, .*junit\.xml, .*env\.json/, 'the terminal names the reports');
  t.match(out.text.trimEnd().split('\n').at(-1), /overall: FAILED \(exit 3\)/, 'the last line is the overall status');
});

t.test('the second-Ctrl-C path writes summary.json, junit.xml and env.json synchronously', async (t) => {
  const f = faultyFixture();
  const reporters = defaultReporters(f.cfg, { printConfig: false, env: {}, out: new MemoryStream(), capture: { probe: fakeProbe } });
  const bus = new EventBus(reporters);
  bus.emit({ type: 'run-start', config: f.cfg, resultsDir: f.dir, startedAt: f.outcome.startedAt, tests: ['long-doc'] });
  await new Promise((r) => setTimeout(r, 50)); // fake probes settle at once
  bus.endSync(f.outcome);
  t.equal(readSummary(f.dir).status, 'FAILED');
  t.ok(existsSync(join(f.dir, 'junit.xml')));
  t.equal(readEnvironment(f.dir).servers.length, 3);
  t.equal(readFileSync(join(f.dir, 'overall.result'), 'utf8'), 'FAILED\n');
});
