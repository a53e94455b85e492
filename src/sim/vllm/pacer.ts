// Runs callbacks at exact monotonic times, for the fixed-latency mode
// (--sim-fixed-ttft-ms): one shared queue for all requests. A timer covers all
// but the last SPIN_MS before the earliest deadline (Node timers fire up to
// ~1 ms late), then setImmediate turns poll until it is due, so I/O keeps
// flowing while it waits. Callbacks due at the same time run in the order
// they were queued.

/** Below this, wait by yielding to the event loop instead of a timer. */
const SPIN_MS = 2;

interface Item {
  dueMs: number;
  order: number;
  fn: () => void;
}

export class Pacer {
  private readonly heap: Item[] = [];
  private order = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDueMs = Infinity;
  private spinning = false;

  /** `onError`: a callback threw (it must not stop the others). */
  constructor(private readonly onError: (err: unknown) => void) {}

  /** Runs `fn` when performance.now() reaches `dueMs` (at once if it has). */
  at(dueMs: number, fn: () => void): void {
    this.push({ dueMs, order: this.order++, fn });
    this.arm();
  }

  /** Drops everything queued (shutdown). */
  clear(): void {
    this.heap.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueMs = Infinity;
  }

  private arm(): void {
    if (this.spinning) return;
    const head = this.heap[0];
    if (!head) return;
    const left = head.dueMs - performance.now();
    if (left <= SPIN_MS) {
      this.spinning = true;
      setImmediate(this.run);
      return;
    }
    const wakeMs = head.dueMs - SPIN_MS;
    if (this.timer && this.timerDueMs <= wakeMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDueMs = wakeMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueMs = Infinity;
      this.arm();
    }, left - SPIN_MS);
  }

  private readonly run = (): void => {
    this.spinning = false;
    const now = performance.now();
    while (this.heap.length > 0 && this.heap[0]!.dueMs <= now) {
      const item = this.pop();
      try {
        item.fn();
      } catch (err) {
        this.onError(err);
      }
    }
    this.arm();
  };

  private less(a: Item, b: Item): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
  }

  private push(item: Item): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Item {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
