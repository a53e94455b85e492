import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { renderSummaryTable, TerminalReporter } from '../../src/report/terminal.ts';
import { drive, MemoryStream } from './fixtures/drive.ts';
import { faultyFixture, passingFixture } from './fixtures/outcomes.ts';

const ANY_ESC = /\x1b/;

async function run(isTTY: boolean, env: NodeJS.ProcessEnv, fixture = faultyFixture()) {
  const out = new MemoryStream(isTTY);
  await drive([new TerminalReporter({ out, env, printConfig: true })], fixture.outcome);
  return { out: out.text, transcript: readFileSync(join(fixture.dir, 'kvgate.log'), 'utf8') };
}

t.test('not a TTY: plain timestamped lines, no ANSI escapes at all, even from server logs', async (t) => {
  const { out, transcript } = await run(false, {});
  t.notMatch(out, ANY_ESC);
  t.notMatch(transcript, ANY_ESC, 'the transcript is plain too');
  for (const line of out.split('\n').filter(Boolean)) {
    if (/^[│┌└├─ ]/.test(line) || line.startsWith('    ')) continue; // table rows, continuation lines
    t.match(line, /^\[\d\d:\d\d:\d\d\] /, `timestamped: ${line.slice(0, 40)}`);
  }
  t.match(out, /illegal memory access/, 'server detail shown, stripped of colour');
  t.match(out, /^ {4}::warning::fake$/m, 'continuation lines are indented (never read as CI commands)');
});

t.test('a TTY with NO_COLOR or CI set is plain as well', async (t) => {
  t.notMatch((await run(true, { NO_COLOR: '1' })).out, ANY_ESC);
  t.notMatch((await run(true, { CI: 'true' })).out, ANY_ESC);
  t.notMatch((await run(true, { TERM: 'dumb' })).out, ANY_ESC);
});

t.test('a real TTY gets colours and the live status line (the check above can fail)', async (t) => {
  const { out, transcript } = await run(true, {});
  t.match(out, /\x1b\[3[12]m/, 'coloured status');
  t.match(out, /\r\x1b\[2K/, 'status line redraws');
  t.notMatch(transcript, ANY_ESC, 'but the transcript stays plain');
});

t.test('the final table shows status, duration, TTFTs, speedup, cache hits and failures per test', async (t) => {
  const { out } = await run(false, {}, passingFixture());
  for (const h of ['test', 'status', 'duration', 'TTFT cold', 'TTFT warm', 'TTFT baseline', 'speedup', 'PegaFlow hits', 'failed']) t.match(out, h);
  t.match(out, /│ long-doc-qa\s+│ pass\s+│ 180\.0s\s+│ 1\.88s\s+│ 0\.149s\s+│ 1\.8s\s+│ 12\.1x\s+│ 8640\s+│ 0\/90/);
  t.match(out, /overall: PASSED \(exit 0\)/);
});

t.test('a failed run ends with a recap of what did not pass and where the reports are', async (t) => {
  const f = faultyFixture();
  const { out } = await run(false, {}, f);
  const tail = out.slice(out.lastIndexOf('┘'));
  t.match(tail, /long-doc-qa: FAIL — warm TTFT 0\.31 s > 0\.22 s/);
  t.match(tail, /✘ failed requests <= 0%: 2\/90 requests failed/);
  t.match(tail, /share-gpt-multi-turn: ERROR — vllm-pegaflow exited unexpectedly/);
  t.match(tail, /2 warnings/);
  t.match(tail, /overall: FAILED \(exit 3\)/);
  t.equal(renderSummaryTable(f.outcome.tests, false).includes('\x1b'), false);
});
