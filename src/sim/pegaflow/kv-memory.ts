// The "GPU KV memory" of a simulated vLLM worker: a plain file where block i
// occupies bytes [i*B, (i+1)*B). Stands in for the CUDA IPC handles of the
// real connector. Positional reads and writes on one open descriptor.
import { open, type FileHandle } from 'node:fs/promises';

export class KvMemoryError extends Error {}

export class KvMemory {
  private constructor(
    readonly path: string,
    readonly numBlocks: number,
    readonly blockBytes: number,
    private readonly fh: FileHandle,
  ) {}

  /** Opens the file read-write and checks it is large enough for numBlocks × blockBytes. */
  static async open(path: string, numBlocks: number, blockBytes: number): Promise<KvMemory> {
    if (!path.startsWith('/')) throw new KvMemoryError(`KV file path must be absolute (got "${path}")`);
    if (!Number.isSafeInteger(numBlocks) || numBlocks <= 0) throw new KvMemoryError(`num_blocks must be > 0 (got ${numBlocks})`);
    if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0) throw new KvMemoryError(`bytes_per_block must be > 0 (got ${blockBytes})`);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch (err) {
      throw new KvMemoryError(`cannot open KV file ${path}: ${(err as Error).message}`);
    }
    const size = (await fh.stat()).size;
    const need = numBlocks * blockBytes;
    if (size < need) {
      await fh.close();
      throw new KvMemoryError(`KV file ${path} holds ${size} bytes; num_blocks=${numBlocks} × bytes_per_block=${blockBytes} needs ${need}`);
    }
    return new KvMemory(path, numBlocks, blockBytes, fh);
  }

  checkBlockId(blockId: number): string | undefined {
    if (Number.isInteger(blockId) && blockId >= 0 && blockId < this.numBlocks) return undefined;
    return `block_id ${blockId} out of range for ${this.path} (num_blocks=${this.numBlocks})`;
  }

  async readBlock(blockId: number): Promise<Buffer> {
    const bad = this.checkBlockId(blockId);
    if (bad) throw new KvMemoryError(bad);
    const buf = Buffer.alloc(this.blockBytes);
    const { bytesRead } = await this.fh.read(buf, 0, this.blockBytes, blockId * this.blockBytes);
    if (bytesRead !== this.blockBytes) throw new KvMemoryError(`short read of block ${blockId} from ${this.path}: ${bytesRead}/${this.blockBytes} bytes`);
    return buf;
  }

  async writeBlock(blockId: number, data: Buffer): Promise<void> {
    const bad = this.checkBlockId(blockId);
    if (bad) throw new KvMemoryError(bad);
    if (data.length !== this.blockBytes) throw new KvMemoryError(`block of ${data.length} bytes does not fit ${this.path} (bytes_per_block=${this.blockBytes})`);
    const { bytesWritten } = await this.fh.write(data, 0, this.blockBytes, blockId * this.blockBytes);
    if (bytesWritten !== this.blockBytes) throw new KvMemoryError(`short write of block ${blockId} to ${this.path}: ${bytesWritten}/${this.blockBytes} bytes`);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}
