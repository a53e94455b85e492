// Incremental parser for `text/event-stream` bodies (the WHATWG "server-sent
// events" format, the subset vLLM uses). Network chunks may split anywhere:
// inside a line, between "\r" and "\n", inside a multi-byte character (the
// caller decodes with a streaming TextDecoder), so state carries over.
//
// - Lines end with "\n", "\r\n" or a lone "\r"; a blank line ends an event.
// - `data:` lines (one optional space after the colon) are joined with "\n".
// - Comment lines (":" …) and other fields (event:, id:, retry:) are ignored.
// - An event without any data line is not reported.
// - flush(): an event left unterminated at the end of the body is reported
//   (lenient, as vLLM's own benchmark client is, so `data: [DONE]` without the
//   final blank line still counts).

export class SseParser {
  private partial = '';
  private lastWasCr = false;
  private data: string[] = [];
  private started = false;

  /** Feeds decoded text; returns the data payloads of the events it completed, in order. */
  push(text: string): string[] {
    const events: string[] = [];
    let s = text;
    if (!this.started && s.length > 0) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    let i = 0;
    // A "\r\n" split across two pushes: the "\n" ends nothing new.
    if (this.lastWasCr && s.charCodeAt(0) === 10) i = 1;
    this.lastWasCr = false;
    let lineStart = i;
    const n = s.length;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = lineStart === i && this.partial === '' ? '' : this.partial + s.slice(lineStart, i);
      this.partial = '';
      this.line(line, events);
      if (c === 13) {
        if (i + 1 < n) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else this.lastWasCr = true;
      }
      lineStart = i + 1;
    }
    if (lineStart < n) this.partial += s.slice(lineStart);
    return events;
  }

  /** At the end of the body: the last event, even without its blank line. */
  flush(): string[] {
    const events: string[] = [];
    if (this.partial !== '') {
      this.line(this.partial, events);
      this.partial = '';
    }
    if (this.data.length > 0) events.push(this.data.join('\n'));
    this.data = [];
    this.lastWasCr = false;
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        events.push(this.data.length === 1 ? this.data[0]! : this.data.join('\n'));
        this.data = [];
      }
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    if (colon < 0) {
      this.data.push('');
      return;
    }
    const from = line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
    this.data.push(line.slice(from));
  }
}
