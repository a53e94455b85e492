// vLLM's GPU block pool with automatic prefix caching, without I/O: a fixed
// number of KV blocks, reference-counted while requests use them, and an index
// from block hash to the block that holds it. Unreferenced blocks sit in a free
// queue in eviction order (least recently used first); a cached block stays
// findable until it is taken for new data. Freed cached blocks go to the back
// of the queue, a request's blocks in reverse order (its tail is evicted before
// its head, as in vLLM); freed blocks without a hash go to the front (reused
// first). With caching disabled nothing is ever found or indexed.

export type BlockKey = string;

/** Index key of a block hash. */
export function keyOf(hash: Buffer): BlockKey {
  return hash.toString('latin1');
}

export class BlockPool {
  private readonly refs: Int32Array;
  private readonly keys: (BlockKey | undefined)[];
  private readonly index = new Map<BlockKey, number>();
  // Free queue as a doubly linked list over block ids; `sentinel` = numBlocks.
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly sentinel: number;
  private free = 0;

  constructor(
    readonly numBlocks: number,
    readonly cachingEnabled: boolean,
  ) {
    if (!Number.isInteger(numBlocks) || numBlocks <= 0) throw new Error(`numBlocks must be a whole number > 0 (got ${numBlocks})`);
    this.refs = new Int32Array(numBlocks);
    this.keys = new Array<BlockKey | undefined>(numBlocks).fill(undefined);
    this.prev = new Int32Array(numBlocks + 1);
    this.next = new Int32Array(numBlocks + 1);
    this.sentinel = numBlocks;
    this.prev[this.sentinel] = this.sentinel;
    this.next[this.sentinel] = this.sentinel;
    for (let id = 0; id < numBlocks; id++) this.pushBack(id);
  }

  get numFree(): number {
    return this.free;
  }

  get numUsed(): number {
    return this.numBlocks - this.free;
  }

  /** Fraction of blocks referenced by requests (vLLM's kv_cache_usage_perc). */
  usage(): number {
    return this.numUsed / this.numBlocks;
  }

  get numCached(): number {
    return this.index.size;
  }

  refCount(id: number): number {
    return this.refs[id]!;
  }

  isCached(hash: Buffer): boolean {
    return this.index.has(keyOf(hash));
  }

  private inQueue(id: number): boolean {
    return this.refs[id] === 0;
  }

  private unlink(id: number): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    this.next[p] = n;
    this.prev[n] = p;
    this.free--;
  }

  private pushBack(id: number): void {
    const last = this.prev[this.sentinel]!;
    this.next[last] = id;
    this.prev[id] = last;
    this.next[id] = this.sentinel;
    this.prev[this.sentinel] = id;
    this.free++;
  }

  private pushFront(id: number): void {
    const first = this.next[this.sentinel]!;
    this.prev[first] = id;
    this.next[id] = first;
    this.prev[id] = this.sentinel;
    this.next[this.sentinel] = id;
    this.free++;
  }

  /** Block ids of the longest run of leading `hashes` found in the cache, at most `maxBlocks`. Changes nothing. */
  lookup(hashes: readonly Buffer[], maxBlocks = hashes.length): number[] {
    const out: number[] = [];
    if (!this.cachingEnabled) return out;
    const limit = Math.min(maxBlocks, hashes.length);
    for (let i = 0; i < limit; i++) {
      const id = this.index.get(keyOf(hashes[i]!));
      if (id === undefined) break;
      out.push(id);
    }
    return out;
  }

  /** Whether `touching` (hit blocks about to be referenced) plus `newBlocks` fresh ones fit now. */
  canAllocate(newBlocks: number, touching: readonly number[] = []): boolean {
    let leaving = 0;
    for (const id of touching) if (this.inQueue(id)) leaving++;
    return this.free - leaving >= newBlocks;
  }

  /** References blocks found by lookup(); they leave the free queue. */
  touch(ids: readonly number[]): void {
    for (const id of ids) {
      if (this.inQueue(id)) this.unlink(id);
      this.refs[id]!++;
    }
  }

  /** Takes `n` blocks from the front of the free queue (evicting their cache entries); undefined when too few are free. */
  allocate(n: number): number[] | undefined {
    if (n > this.free) return undefined;
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      const id = this.next[this.sentinel]!;
      this.unlink(id);
      this.evict(id);
      this.refs[id] = 1;
      out.push(id);
    }
    return out;
  }

  private evict(id: number): void {
    const key = this.keys[id];
    if (key === undefined) return;
    if (this.index.get(key) === id) this.index.delete(key);
    this.keys[id] = undefined;
  }

  /** Indexes a full block under its hash; false when caching is off or another block already holds that hash. */
  cacheBlock(id: number, hash: Buffer): boolean {
    if (!this.cachingEnabled) return false;
    const key = keyOf(hash);
    if (this.index.has(key)) return false;
    this.evict(id);
    this.keys[id] = key;
    this.index.set(key, id);
    return true;
  }

  /** Drops one reference from each block of a request (given in request order). */
  freeBlocks(ids: readonly number[]): void {
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i]!;
      if (this.refs[id]! <= 0) throw new Error(`block ${id} freed more often than referenced`);
      this.refs[id]!--;
      if (this.refs[id] === 0) {
        if (this.keys[id] !== undefined) this.pushBack(id);
        else this.pushFront(id);
      }
    }
  }

  /**
   * Empties the prefix cache. Like vLLM it refuses (returns false, changes
   * nothing) while any block is still referenced by a request.
   */
  reset(): boolean {
    if (this.numUsed > 0) return false;
    this.index.clear();
    this.keys.fill(undefined);
    return true;
  }
}
