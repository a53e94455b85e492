// The host-to-GPU transfer path, modelled as one FIFO channel: loads share
// PCIe bandwidth, so a load that arrives while another runs waits for it.
import { setTimeout as sleep } from 'node:timers/promises';

export interface TransferCost {
  ramBlocks: number;
  ssdBlocks: number;
}

export interface TransferTiming {
  loadUsPerBlock: number;
  ssdLoadUsPerBlock: number;
}

/** Modelled time of one load, in milliseconds, before any slow-load factor. */
export function transferMs(cost: TransferCost, timing: TransferTiming): number {
  return (cost.ramBlocks * timing.loadUsPerBlock + cost.ssdBlocks * timing.ssdLoadUsPerBlock) / 1000;
}

export class TransferChannel {
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * Runs `work` when the channel is free and holds the channel until at least
   * `durationMs` has passed since it started, so the caller sees the modelled time.
   */
  run<T>(durationMs: number, work: () => Promise<T>): Promise<T> {
    const job = this.tail.then(async () => {
      const start = performance.now();
      const result = await work();
      const left = durationMs - (performance.now() - start);
      if (left > 0) await sleep(left);
      return result;
    });
    this.tail = job.catch(() => undefined);
    return job;
  }
}
