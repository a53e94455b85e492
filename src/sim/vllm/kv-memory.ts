// The simulated GPU KV memory: a file of numBlocks × 32 bytes, block i at
// offset i*32, holding that block's KV digest. The connector registers its
// path with PegaFlow (in wrapper_bytes, where the real connector sends CUDA IPC
// handles); PegaFlow reads saved blocks from it and writes loaded blocks into
// it. Created at start-up in os.tmpdir(), deleted on close and at process exit.
import { closeSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIGEST_BYTES } from './model.ts';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class KvMemoryFile {
  private fd: number | undefined;
  private readonly onExit = () => this.removeSync();

  private constructor(
    readonly path: string,
    readonly numBlocks: number,
    fd: number,
  ) {
    this.fd = fd;
    process.once('exit', this.onExit);
  }

  static pathFor(instanceId: string, dir = tmpdir()): string {
    return join(dir, `kvgate-sim-kv-${instanceId}.bin`);
  }

  /**
   * Deletes KV memory files left by simulated vLLM processes that no longer run
   * (SIGKILLed ones cannot clean up). Instance ids embed the pid: `vllm-sim-<pid>-<hex>`.
   */
  static sweepStale(dir = tmpdir()): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return removed;
    }
    for (const name of names) {
      const m = /^kvgate-sim-kv-vllm-sim-(\d+)-[0-9a-f]+\.bin$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid === process.pid || pidAlive(pid)) continue;
      try {
        unlinkSync(join(dir, name));
        removed.push(name);
      } catch {
        // raced with another sweeper, or not ours to delete
      }
    }
    return removed;
  }

  /** Creates (or truncates) the file, zero-filled. */
  static create(instanceId: string, numBlocks: number, dir?: string): KvMemoryFile {
    const path = KvMemoryFile.pathFor(instanceId, dir);
    const fd = openSync(path, 'w+', 0o600);
    try {
      writeSync(fd, Buffer.alloc(numBlocks * DIGEST_BYTES), 0, numBlocks * DIGEST_BYTES, 0);
    } catch (err) {
      closeSync(fd);
      throw new Error(`cannot create the KV memory file ${path} (${numBlocks} blocks × ${DIGEST_BYTES} bytes): ${(err as Error).message}`);
    }
    return new KvMemoryFile(path, numBlocks, fd);
  }

  private handle(): number {
    if (this.fd === undefined) throw new Error(`KV memory file ${this.path} is closed`);
    return this.fd;
  }

  /** Contiguous runs of block ids, so each run is one read or write. */
  private static runs(ids: readonly number[]): { start: number; first: number; length: number }[] {
    const out: { start: number; first: number; length: number }[] = [];
    for (let i = 0; i < ids.length; i++) {
      const last = out[out.length - 1];
      if (last && ids[i] === last.first + last.length) last.length++;
      else out.push({ start: i, first: ids[i]!, length: 1 });
    }
    return out;
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.numBlocks) throw new Error(`block id ${id} out of range (num_blocks=${this.numBlocks})`);
  }

  /**
   * Reads the digests of `ids`. Synchronous on purpose: a few hundred bytes to a
   * few kilobytes from the page cache, far cheaper than a thread-pool round trip.
   */
  read(ids: readonly number[]): Buffer[] {
    const fd = this.handle();
    const out: Buffer[] = new Array(ids.length);
    for (const run of KvMemoryFile.runs(ids)) {
      this.check(run.first);
      this.check(run.first + run.length - 1);
      const buf = Buffer.alloc(run.length * DIGEST_BYTES);
      const n = readSync(fd, buf, 0, buf.length, run.first * DIGEST_BYTES);
      if (n !== buf.length) throw new Error(`short read from ${this.path}: ${n}/${buf.length} bytes at block ${run.first}`);
      for (let k = 0; k < run.length; k++) out[run.start + k] = buf.subarray(k * DIGEST_BYTES, (k + 1) * DIGEST_BYTES);
    }
    return out;
  }

  write(ids: readonly number[], digests: readonly Buffer[]): void {
    const fd = this.handle();
    if (ids.length !== digests.length) throw new Error(`write of ${ids.length} block ids with ${digests.length} digests`);
    for (const run of KvMemoryFile.runs(ids)) {
      this.check(run.first);
      this.check(run.first + run.length - 1);
      const buf = Buffer.concat(digests.slice(run.start, run.start + run.length));
      if (buf.length !== run.length * DIGEST_BYTES) throw new Error(`digests must be ${DIGEST_BYTES} bytes each`);
      writeSync(fd, buf, 0, buf.length, run.first * DIGEST_BYTES);
    }
  }

  /** Closes and deletes the file. */
  close(): void {
    process.removeListener('exit', this.onExit);
    this.removeSync();
  }

  private removeSync(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
