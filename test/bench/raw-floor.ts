// Floor reference for the client benchmarks: the least a client can do over
// node:net — pre-built request bytes, keep-alive connections opened before
// measuring, a byte search for the first content chunk, no HTTP or SSE
// parsing. What it reads above the injected TTFT is loopback plus the
// server's own work, which every client pays; a client's overhead proper is
// what it reads above this floor.
import { connect, type Socket } from 'node:net';

// The role-only chunk carries {"role":"assistant","content":""}; a token chunk {"content":"…"}.
const CONTENT_MARK = Buffer.from('{"content":"');
// The chunked body's last chunk: the response is complete.
const END_MARK = Buffer.from('\r\n0\r\n\r\n');

export interface FloorResult {
  ttftMs: number[];
  failed: number;
  wallS: number;
}

class Conn {
  private readonly sock: Socket;
  private sentMs = 0;
  private gotContent = false;
  private tail: Buffer = Buffer.alloc(0);
  private onDone: ((ok: boolean) => void) | undefined;
  readonly ready: Promise<void>;
  out: number[] = [];

  constructor(port: number) {
    this.sock = connect({ host: '127.0.0.1', port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
    this.sock.on('data', (buf: Buffer) => this.data(buf, performance.now()));
  }

  send(req: Buffer): Promise<boolean> {
    this.gotContent = false;
    this.tail = Buffer.alloc(0);
    return new Promise((resolve) => {
      this.onDone = resolve;
      this.sentMs = performance.now();
      this.sock.write(req);
    });
  }

  private data(buf: Buffer, t: number): void {
    const seen = this.tail.length ? Buffer.concat([this.tail, buf]) : buf;
    if (!this.gotContent && seen.includes(CONTENT_MARK)) {
      this.gotContent = true;
      this.out.push(t - this.sentMs);
    }
    if (seen.length >= END_MARK.length && seen.subarray(seen.length - END_MARK.length).equals(END_MARK)) {
      const done = this.onDone;
      this.onDone = undefined;
      done?.(this.gotContent);
      return;
    }
    this.tail = seen.subarray(Math.max(0, seen.length - 32));
  }

  close(): void {
    this.sock.destroy();
  }
}

/** `concurrency` keep-alive connections, a warm-up request on each, then `n` measured requests, closed loop. */
export async function runFloor(port: number, model: string, prompt: string, maxTokens: number, concurrency: number, n: number): Promise<FloorResult> {
  // The very body kvgate's client sends (usage chunk included), so that the server does the same work for both.
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
  const req = Buffer.from(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  const conns = Array.from({ length: concurrency }, () => new Conn(port));
  try {
    await Promise.all(conns.map((c) => c.ready));
    await Promise.all(conns.map((c) => c.send(req)));
    const ttftMs: number[] = [];
    let left = n;
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c) => {
        c.out = ttftMs;
        while (left-- > 0) if (!(await c.send(req))) failed++;
      }),
    );
    return { ttftMs, failed, wallS: (performance.now() - t0) / 1000 };
  } finally {
    for (const c of conns) c.close();
  }
}
