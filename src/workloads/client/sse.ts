// Incremental parser for `text/event-stream` bodies as vLLM writes them:
// events separated by a blank line, payload in `data:` lines. Chunks from the
// network may split anywhere (inside a line, inside "\r\n"), so state carries over.

export class SseParser {
  private buffer = '';
  private data: string[] = [];

  /** Feeds decoded text; returns the data payloads of every event completed by it. */
  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) break;
      let line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length) events.push(this.data.join('\n'));
        this.data = [];
      } else if (line.startsWith('data:')) {
        this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      // Comments (":") and other fields (event:, id:, retry:) carry nothing vLLM uses.
    }
    return events;
  }

  /** At end of stream: an event not terminated by a blank line still counts. */
  flush(): string[] {
    const rest = this.buffer.replace(/\r$/, '');
    this.buffer = '';
    if (rest.startsWith('data:')) this.data.push(rest.slice(rest.startsWith('data: ') ? 6 : 5));
    const out = this.data.length ? [this.data.join('\n')] : [];
    this.data = [];
    return out;
  }
}
