// The SSE parser on streams cut at every possible place.
import t from 'tap';
import { SseParser } from '../../src/workloads/client/sse.ts';

const STREAM =
  '\uFEFFdata: {"a":1}\r\n\r\n' + // CRLF, BOM before the first field
  ': ping comment\n\n' + // a comment-only event: nothing
  'event: message\nid: 7\ndata: {"b":\ndata: 2}\n\n' + // multi-line data, ignored fields
  'data:{"c":"no space"}\r\r' + // lone CR line endings
  'data\n\n' + // a data field without a colon: empty data
  'retry: 100\n\n' + // no data line: nothing
  'data:  two spaces\n\n' + // only one space is stripped
  'data: [DONE]\n\n';
const EVENTS = ['{"a":1}', '{"b":\n2}', '{"c":"no space"}', '', ' two spaces', '[DONE]'];

function feed(parts: string[]): string[] {
  const p = new SseParser();
  const out: string[] = [];
  for (const part of parts) out.push(...p.push(part));
  out.push(...p.flush());
  return out;
}

t.test('a whole stream: data payloads in order, comments and other fields ignored, CRLF and CR line ends', async (t) => {
  t.same(feed([STREAM]), EVENTS);
});

t.test('the same events whatever single place the stream is cut at (inside "\\r\\n" included)', async (t) => {
  let bad = 0;
  for (let i = 0; i <= STREAM.length; i++) {
    const got = feed([STREAM.slice(0, i), STREAM.slice(i)]);
    if (JSON.stringify(got) !== JSON.stringify(EVENTS)) {
      bad++;
      t.same(got, EVENTS, `cut at ${i}`);
    }
  }
  t.equal(bad, 0, `${STREAM.length + 1} cuts`);
});

t.test('the same events when cut at every pair of places, and fed one character at a time', async (t) => {
  let bad = 0;
  for (let i = 0; i <= STREAM.length; i++) {
    for (let j = i; j <= STREAM.length; j++) {
      if (JSON.stringify(feed([STREAM.slice(0, i), STREAM.slice(i, j), STREAM.slice(j)])) !== JSON.stringify(EVENTS)) bad++;
    }
  }
  t.equal(bad, 0, 'no pair of cuts changes the events');
  t.same(feed([...STREAM]), EVENTS, 'one character per push');
});

t.test('events come out as soon as their blank line arrives', async (t) => {
  const p = new SseParser();
  t.same(p.push('data: x\n'), [], 'not complete yet');
  t.same(p.push('\ndata: y'), ['x']);
  t.same(p.push('\n\n'), ['y']);
});

t.test('flush reports an event left unterminated at the end of the body', async (t) => {
  const p = new SseParser();
  t.same(p.push('data: [DONE]'), []);
  t.same(p.flush(), ['[DONE]']);
  const q = new SseParser();
  t.same(q.push('data: a\n'), []);
  t.same(q.flush(), ['a'], 'data line ended, blank line missing');
  t.same(new SseParser().flush(), [], 'nothing pending');
});
