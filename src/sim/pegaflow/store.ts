// The block store: what PegaFlow keeps in pinned host memory, and optionally
// on SSD, keyed by (namespace, block hash). Pure bookkeeping, no I/O: the
// gRPC layer reads and writes the KV files and times the transfers.
//
// Model (see README.md for the why):
// - RAM tier: LRU of sealed blocks, bounded by poolBytes / blockBytes blocks.
//   A block is sealed once every tensor-parallel rank has saved its slot.
// - Leases: a query pins its leading hits until Load consumes the lease (once
//   per rank: `consumers`), Release drops it, or it expires. Pressure eviction
//   skips pinned blocks; an insert that finds no room is dropped (an
//   allocation failure). Memory cleanup removes even pinned blocks from the
//   index, as the real server does; their memory stays used until unpinned.
// - SSD tier (optional): every sealed block is also written to an SSD ring
//   (oldest overwritten first), as the real server offloads at seal time. A
//   block that left RAM can still be served from there and comes back to RAM
//   when loaded.
import { randomBytes } from 'node:crypto';

export type StoredTier = 'ram' | 'ssd';

/** Per-query attribution, as pegaflow_cache_tier_block_requests_total{tier}; sums to the blocks asked. */
export interface TierCounts {
  ram: number;
  ssd: number;
  rdma: number;
  miss: number;
}

export type EvictReason = 'pressure' | 'cleanup';

export interface StoreObserver {
  onInsert?(): void;
  onEvict?(reason: EvictReason, residenceS: number, stillReferenced: boolean): void;
  onAllocFailure?(): void;
  onSsdWrite?(): void;
}

export interface BlockStoreOptions {
  poolBytes: number;
  /** 0 disables the SSD tier. */
  ssdBytes: number;
  /** Accounted size of one sealed block. */
  blockBytes: number;
  leaseTtlMs: number;
  now?: () => number;
  newLeaseId?: () => Buffer;
  observer?: StoreObserver;
}

export interface LeasedBlock {
  readonly key: string;
  /** Where the block lived when the lease was made; decides its transfer time. */
  readonly tier: StoredTier;
  /** One buffer per tensor-parallel rank. */
  readonly slots: readonly Buffer[];
}

export type ConsumeResult = { ok: true; blocks: LeasedBlock[]; done: () => void } | { ok: false; reason: string };

export interface MemoryCleanupStats {
  evictedBlocks: number;
  evictedBytes: number;
  reclaimedBytes: number;
  stillReferencedBlocks: number;
}

export interface StoreStats {
  residentBlocks: number;
  residentBytes: number;
  poolUsedBytes: number;
  poolCapacityBytes: number;
  largestFreeBytes: number;
  ssdBlocks: number;
  activeLeases: number;
  pinnedBlocks: number;
}

interface Block {
  key: string;
  slots: Buffer[];
  insertedAtMs: number;
  pins: number;
  /** Removed from the index by cleanup while pinned: still holds pool memory. */
  orphan: boolean;
}

interface LeaseEntry extends LeasedBlock {
  block?: Block;
}

interface Lease {
  instanceId: string;
  entries: LeaseEntry[];
  remainingConsumers: number;
  expiresAtMs: number;
}

interface Pending {
  slots: (Buffer | undefined)[];
  filled: number;
}

const RECENT_CONSUMED_LIMIT = 4096;

export function blockKey(namespace: string, hash: Buffer): string {
  return `${namespace}\u0000${hash.toString('hex')}`;
}

export class BlockStore {
  private readonly capacityBlocks: number;
  private readonly ssdCapacityBlocks: number;
  private readonly now: () => number;
  private readonly newLeaseId: () => Buffer;
  /** Map order is LRU order: first = least recently used. */
  private readonly ram = new Map<string, Block>();
  private readonly orphans = new Set<Block>();
  /** Map order is write order: first = next to be overwritten. */
  private readonly ssd = new Map<string, Buffer[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly leases = new Map<string, Lease>();
  private readonly recentlyConsumed = new Set<string>();

  constructor(private readonly opts: BlockStoreOptions) {
    this.capacityBlocks = Math.floor(opts.poolBytes / opts.blockBytes);
    this.ssdCapacityBlocks = Math.floor(opts.ssdBytes / opts.blockBytes);
    this.now = opts.now ?? (() => performance.now());
    this.newLeaseId = opts.newLeaseId ?? (() => randomBytes(16));
  }

  get ssdEnabled(): boolean {
    return this.opts.ssdBytes > 0;
  }

  /** Where a block can be served from now, or undefined. */
  tierOf(namespace: string, hash: Buffer): StoredTier | undefined {
    const key = blockKey(namespace, hash);
    if (this.ram.has(key)) return 'ram';
    if (this.ssd.has(key)) return 'ssd';
    return undefined;
  }

  /** False when saving this rank's slot would change nothing (block resident, or slot already pending). */
  needsSlot(namespace: string, hash: Buffer, slot: number): boolean {
    const key = blockKey(namespace, hash);
    if (this.ram.has(key)) return false;
    return this.pending.get(key)?.slots[slot] === undefined;
  }

  /** Stores one rank's slot; the block is inserted once all `slotCount` slots are in. */
  putSlot(namespace: string, hash: Buffer, slot: number, slotCount: number, data: Buffer): 'inserted' | 'pending' | 'exists' | 'dropped' {
    const key = blockKey(namespace, hash);
    if (this.ram.has(key)) return 'exists';
    if (slotCount <= 1) return this.insertSealed(key, [data]) ? 'inserted' : 'dropped';
    let p = this.pending.get(key);
    if (!p) {
      p = { slots: new Array<Buffer | undefined>(slotCount).fill(undefined), filled: 0 };
      this.pending.set(key, p);
    }
    if (p.slots[slot] === undefined) {
      p.slots[slot] = data;
      p.filled++;
    }
    if (p.filled < slotCount) return 'pending';
    this.pending.delete(key);
    return this.insertSealed(key, p.slots as Buffer[]) ? 'inserted' : 'dropped';
  }

  /** The tiers `query` would attribute the blocks to, without leasing or touching LRU order. */
  classify(namespace: string, hashes: readonly Buffer[]): TierCounts {
    const tiers: TierCounts = { ram: 0, ssd: 0, rdma: 0, miss: 0 };
    for (const hash of hashes) {
      const tier = this.tierOf(namespace, hash);
      if (!tier) break;
      tiers[tier]++;
    }
    tiers.miss = hashes.length - tiers.ram - tiers.ssd;
    return tiers;
  }

  /** Counts the leading hits, attributes every asked block to a tier, and leases the hits. */
  query(instanceId: string, namespace: string, hashes: readonly Buffer[], consumers = 1): { hitBlocks: number; tiers: TierCounts; lease?: Buffer } {
    this.sweepExpired();
    const tiers: TierCounts = { ram: 0, ssd: 0, rdma: 0, miss: 0 };
    const entries: LeaseEntry[] = [];
    for (const hash of hashes) {
      const key = blockKey(namespace, hash);
      const block = this.ram.get(key);
      if (block) {
        this.ram.delete(key);
        this.ram.set(key, block);
        entries.push({ key, tier: 'ram', slots: block.slots, block });
        tiers.ram++;
        continue;
      }
      const onSsd = this.ssd.get(key);
      if (!onSsd) break;
      // The lease holds the data itself, so a later ring overwrite cannot break it.
      entries.push({ key, tier: 'ssd', slots: onSsd });
      tiers.ssd++;
    }
    tiers.miss = hashes.length - entries.length;
    if (entries.length === 0) return { hitBlocks: 0, tiers };
    for (const e of entries) if (e.block) e.block.pins++;
    const id = this.newLeaseId();
    this.leases.set(id.toString('hex'), {
      instanceId,
      entries,
      remainingConsumers: Math.max(1, consumers),
      expiresAtMs: this.now() + this.opts.leaseTtlMs,
    });
    return { hitBlocks: entries.length, tiers, lease: id };
  }

  /**
   * Takes a lease for one Load. The last consumer removes it; its pins hold
   * until `done()` (call it when the transfer has finished).
   */
  consumeLease(instanceId: string, lease: Buffer): ConsumeResult {
    this.sweepExpired();
    const id = lease.toString('hex');
    const l = this.leases.get(id);
    if (!l) return { ok: false, reason: 'query lease is unknown or expired' };
    if (l.instanceId !== instanceId) return { ok: false, reason: `query lease belongs to instance ${l.instanceId}, got ${instanceId}` };
    l.remainingConsumers--;
    if (l.remainingConsumers > 0) return { ok: true, blocks: l.entries, done: () => {} };
    this.leases.delete(id);
    this.rememberConsumed(id);
    let finished = false;
    return {
      ok: true,
      blocks: l.entries,
      done: () => {
        if (finished) return;
        finished = true;
        this.unpinAll(l.entries);
      },
    };
  }

  /** 'consumed': the lease was already used up by Load (nothing left to release). */
  releaseLease(lease: Buffer): 'released' | 'consumed' | 'unknown' {
    this.sweepExpired();
    const id = lease.toString('hex');
    const l = this.leases.get(id);
    if (l) {
      this.leases.delete(id);
      this.unpinAll(l.entries);
      return 'released';
    }
    return this.recentlyConsumed.has(id) ? 'consumed' : 'unknown';
  }

  /** Drops every lease of an instance (unregister, session end). */
  releaseInstanceLeases(instanceId: string): number {
    let n = 0;
    for (const [id, l] of this.leases) {
      if (l.instanceId !== instanceId) continue;
      this.leases.delete(id);
      this.unpinAll(l.entries);
      n++;
    }
    return n;
  }

  /** Brings a block served from SSD back into RAM (after its load). */
  promote(block: LeasedBlock): boolean {
    if (this.ram.has(block.key)) return true;
    return this.insertSealed(block.key, [...block.slots]);
  }

  sweepExpired(): number {
    const now = this.now();
    let n = 0;
    for (const [id, l] of this.leases) {
      if (l.expiresAtMs > now) continue;
      this.leases.delete(id);
      this.unpinAll(l.entries);
      n++;
    }
    return n;
  }

  /** Empties the RAM index (POST /cache/memory/cleanup); SSD copies stay. */
  cleanupMemory(): MemoryCleanupStats {
    this.sweepExpired();
    const stats: MemoryCleanupStats = { evictedBlocks: 0, evictedBytes: 0, reclaimedBytes: 0, stillReferencedBlocks: 0 };
    for (const block of [...this.ram.values()]) {
      const referenced = this.evict(block, 'cleanup');
      stats.evictedBlocks++;
      stats.evictedBytes += this.opts.blockBytes;
      if (referenced) stats.stillReferencedBlocks++;
      else stats.reclaimedBytes += this.opts.blockBytes;
    }
    return stats;
  }

  stats(): StoreStats {
    const used = (this.ram.size + this.orphans.size) * this.opts.blockBytes;
    let pinned = 0;
    for (const b of this.ram.values()) if (b.pins > 0) pinned++;
    return {
      residentBlocks: this.ram.size,
      residentBytes: this.ram.size * this.opts.blockBytes,
      poolUsedBytes: used,
      poolCapacityBytes: this.opts.poolBytes,
      largestFreeBytes: Math.max(0, this.opts.poolBytes - used),
      ssdBlocks: this.ssd.size,
      activeLeases: this.leases.size,
      pinnedBlocks: pinned + this.orphans.size,
    };
  }

  private insertSealed(key: string, slots: Buffer[]): boolean {
    while (this.ram.size + this.orphans.size >= this.capacityBlocks) {
      const victim = this.oldestUnpinned();
      if (!victim) {
        this.opts.observer?.onAllocFailure?.();
        return false;
      }
      this.evict(victim, 'pressure');
    }
    this.ram.set(key, { key, slots, insertedAtMs: this.now(), pins: 0, orphan: false });
    this.opts.observer?.onInsert?.();
    this.writeSsd(key, slots);
    return true;
  }

  private oldestUnpinned(): Block | undefined {
    for (const b of this.ram.values()) if (b.pins === 0) return b;
    return undefined;
  }

  /** Removes a block from the RAM index; true when a lease still references it. */
  private evict(block: Block, reason: EvictReason): boolean {
    this.ram.delete(block.key);
    const referenced = block.pins > 0;
    if (referenced) {
      block.orphan = true;
      this.orphans.add(block);
    }
    this.opts.observer?.onEvict?.(reason, (this.now() - block.insertedAtMs) / 1000, referenced);
    return referenced;
  }

  private writeSsd(key: string, slots: Buffer[]): void {
    if (this.ssdCapacityBlocks <= 0 || this.ssd.has(key)) return;
    while (this.ssd.size >= this.ssdCapacityBlocks) {
      const oldest = this.ssd.keys().next().value as string;
      this.ssd.delete(oldest);
    }
    this.ssd.set(key, slots);
    this.opts.observer?.onSsdWrite?.();
  }

  private unpinAll(entries: readonly LeaseEntry[]): void {
    for (const e of entries) {
      const b = e.block;
      if (!b) continue;
      b.pins--;
      if (b.pins === 0 && b.orphan) {
        b.orphan = false;
        this.orphans.delete(b);
      }
    }
  }

  private rememberConsumed(id: string): void {
    this.recentlyConsumed.add(id);
    if (this.recentlyConsumed.size > RECENT_CONSUMED_LIMIT) {
      this.recentlyConsumed.delete(this.recentlyConsumed.values().next().value as string);
    }
  }
}
