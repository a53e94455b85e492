import t from 'tap';
import { BlockStore, type BlockStoreOptions, type EvictReason } from '../../src/sim/pegaflow/store.ts';

const BB = 100; // accounted bytes per block
const NS = 'ns';
const h = (s: string) => Buffer.from(s);
const data = (s: string) => Buffer.from(`data:${s}`);

function makeStore(blocks: number, extra: Partial<BlockStoreOptions> = {}) {
  const events = { inserts: 0, evictions: [] as EvictReason[], referenced: 0, allocFailures: 0, ssdWrites: 0 };
  let nowMs = 0;
  let nextId = 0;
  const store = new BlockStore({
    poolBytes: blocks * BB,
    ssdBytes: 0,
    blockBytes: BB,
    leaseTtlMs: 30_000,
    now: () => nowMs,
    newLeaseId: () => {
      const id = Buffer.alloc(16);
      id.writeUInt32BE(++nextId);
      return id;
    },
    observer: {
      onInsert: () => events.inserts++,
      onEvict: (reason, _age, stillReferenced) => {
        events.evictions.push(reason);
        if (stillReferenced) events.referenced++;
      },
      onAllocFailure: () => events.allocFailures++,
      onSsdWrite: () => events.ssdWrites++,
    },
    ...extra,
  });
  const put = (...names: string[]) => names.map((n) => store.putSlot(NS, h(n), 0, 1, data(n)));
  return { store, events, put, advance: (ms: number) => (nowMs += ms) };
}

t.test('RAM tier holds at most pool/blockBytes blocks and evicts the least recently used', async (t) => {
  const { store, events, put } = makeStore(3);
  t.same(put('a', 'b', 'c', 'd', 'e'), ['inserted', 'inserted', 'inserted', 'inserted', 'inserted']);
  t.equal(store.stats().residentBlocks, 3);
  t.equal(store.stats().poolUsedBytes, 300);
  t.equal(store.tierOf(NS, h('a')), undefined, 'oldest block gone');
  t.equal(store.tierOf(NS, h('b')), undefined);
  t.equal(store.tierOf(NS, h('e')), 'ram');
  t.equal(events.inserts, 5);
  t.same(events.evictions, ['pressure', 'pressure']);
});

t.test('a query hit refreshes recency, so the block outlives older ones', async (t) => {
  const { store, put } = makeStore(3);
  put('a', 'b', 'c');
  const q = store.query('i', NS, [h('a')]);
  store.releaseLease(q.lease!);
  put('d');
  t.equal(store.tierOf(NS, h('a')), 'ram');
  t.equal(store.tierOf(NS, h('b')), undefined, 'b was the least recently used');
});

t.test('saving an already stored hash inserts nothing', async (t) => {
  const { store, events, put } = makeStore(3);
  put('a');
  t.equal(store.needsSlot(NS, h('a'), 0), false);
  t.equal(store.putSlot(NS, h('a'), 0, 1, data('other')), 'exists');
  t.equal(events.inserts, 1);
  t.equal(store.tierOf('other-namespace', h('a')), undefined, 'blocks are scoped by namespace');
});

t.test('leased blocks survive eviction pressure until released', async (t) => {
  const { store, events, put } = makeStore(3);
  put('a', 'b', 'c');
  const q = store.query('i', NS, [h('a'), h('b')]);
  t.equal(q.hitBlocks, 2);
  put('d', 'e', 'f');
  t.equal(store.tierOf(NS, h('a')), 'ram');
  t.equal(store.tierOf(NS, h('b')), 'ram');
  t.equal(store.tierOf(NS, h('c')), undefined);
  t.equal(store.tierOf(NS, h('e')), undefined);
  t.equal(store.tierOf(NS, h('f')), 'ram');
  t.equal(store.stats().pinnedBlocks, 2);
  t.equal(store.releaseLease(q.lease!), 'released');
  put('g');
  t.equal(store.tierOf(NS, h('a')), undefined, 'after release the pinned block is evictable again');
  t.equal(events.allocFailures, 0);
});

t.test('an insert that finds only pinned blocks is dropped and counted as an allocation failure', async (t) => {
  const { store, events, put } = makeStore(2);
  put('a', 'b');
  store.query('i', NS, [h('a'), h('b')]);
  t.same(put('c'), ['dropped']);
  t.equal(events.allocFailures, 1);
  t.equal(store.tierOf(NS, h('c')), undefined);
  t.equal(store.stats().residentBlocks, 2);
});

t.test('a pool smaller than one block stores nothing', async (t) => {
  const { store, events, put } = makeStore(0);
  t.same(put('a'), ['dropped']);
  t.equal(events.allocFailures, 1);
  t.equal(store.stats().residentBlocks, 0);
});

t.test('query counts only leading hits and attributes every asked block to one tier', async (t) => {
  const { store, put } = makeStore(2, { ssdBytes: 10 * BB });
  put('s1', 'r1', 'r2'); // s1 pushed out of RAM, still on SSD
  t.equal(store.tierOf(NS, h('s1')), 'ssd');
  const asked = [h('r1'), h('s1'), h('r2'), h('missing'), h('r1')];
  const q = store.query('i', NS, asked);
  t.equal(q.hitBlocks, 3);
  t.same(q.tiers, { ram: 2, ssd: 1, rdma: 0, miss: 2 });
  t.equal(q.tiers.ram + q.tiers.ssd + q.tiers.rdma + q.tiers.miss, asked.length, 'tiers sum to the blocks asked');
  const none = store.query('i', NS, [h('missing'), h('r1')]);
  t.equal(none.hitBlocks, 0);
  t.equal(none.lease, undefined, 'no lease without hits');
  t.same(none.tiers, { ram: 0, ssd: 0, rdma: 0, miss: 2 });
  t.same(store.query('i', NS, []).tiers, { ram: 0, ssd: 0, rdma: 0, miss: 0 });
});

t.test('a block evicted from RAM is served from SSD and comes back to RAM when loaded', async (t) => {
  const { store, events, put } = makeStore(2, { ssdBytes: 10 * BB });
  put('a', 'b', 'c');
  t.equal(events.ssdWrites, 3, 'every sealed block is written to SSD');
  t.equal(store.tierOf(NS, h('a')), 'ssd');
  const q = store.query('i', NS, [h('a')]);
  t.same(q.tiers, { ram: 0, ssd: 1, rdma: 0, miss: 0 });
  const taken = store.consumeLease('i', q.lease!);
  t.ok(taken.ok);
  if (!taken.ok) return;
  t.equal(taken.blocks[0]!.tier, 'ssd');
  t.same(taken.blocks[0]!.slots[0], data('a'));
  t.ok(store.promote(taken.blocks[0]!));
  taken.done();
  t.equal(store.tierOf(NS, h('a')), 'ram');
  t.equal(events.ssdWrites, 3, 'promotion does not rewrite SSD');
});

t.test('the SSD tier is bounded and overwrites its oldest blocks first', async (t) => {
  const { store, put } = makeStore(1, { ssdBytes: 2 * BB });
  put('a', 'b', 'c');
  t.equal(store.tierOf(NS, h('a')), undefined);
  t.equal(store.tierOf(NS, h('b')), 'ssd');
  t.equal(store.tierOf(NS, h('c')), 'ram');
  t.equal(store.stats().ssdBlocks, 2);
});

t.test('memory cleanup empties RAM and keeps SSD copies', async (t) => {
  const { store, events, put } = makeStore(4, { ssdBytes: 10 * BB });
  put('a', 'b', 'c');
  const stats = store.cleanupMemory();
  t.same(stats, { evictedBlocks: 3, evictedBytes: 300, reclaimedBytes: 300, stillReferencedBlocks: 0 });
  t.same(events.evictions, ['cleanup', 'cleanup', 'cleanup']);
  t.equal(store.stats().residentBlocks, 0);
  t.equal(store.stats().poolUsedBytes, 0);
  for (const n of ['a', 'b', 'c']) t.equal(store.tierOf(NS, h(n)), 'ssd');
  t.same(store.query('i', NS, [h('a'), h('b')]).tiers, { ram: 0, ssd: 2, rdma: 0, miss: 0 });
});

t.test('memory cleanup without an SSD tier drops the blocks', async (t) => {
  const { store, put } = makeStore(4);
  put('a', 'b');
  t.equal(store.cleanupMemory().evictedBlocks, 2);
  t.equal(store.tierOf(NS, h('a')), undefined);
  t.equal(store.query('i', NS, [h('a')]).hitBlocks, 0);
});

t.test('cleanup of a leased block keeps its memory used until the lease ends, and the lease still serves it', async (t) => {
  const { store, events, put } = makeStore(4);
  put('a', 'b');
  const q = store.query('i', NS, [h('a')]);
  const stats = store.cleanupMemory();
  t.same(stats, { evictedBlocks: 2, evictedBytes: 200, reclaimedBytes: 100, stillReferencedBlocks: 1 });
  t.equal(events.referenced, 1);
  t.equal(store.stats().poolUsedBytes, 100);
  const taken = store.consumeLease('i', q.lease!);
  t.ok(taken.ok);
  if (!taken.ok) return;
  t.same(taken.blocks[0]!.slots[0], data('a'));
  taken.done();
  t.equal(store.stats().poolUsedBytes, 0);
});

t.test('a lease is consumed once per consumer, only by its instance, and release after that is told apart from unknown', async (t) => {
  const { store, put } = makeStore(4);
  put('a');
  const q = store.query('inst-a', NS, [h('a')], 2);
  const wrong = store.consumeLease('inst-b', q.lease!);
  t.notOk(wrong.ok);
  if (!wrong.ok) t.match(wrong.reason, /belongs to instance inst-a/);
  const first = store.consumeLease('inst-a', q.lease!);
  t.ok(first.ok);
  const second = store.consumeLease('inst-a', q.lease!);
  t.ok(second.ok, 'two consumers (world_size 2)');
  if (second.ok) second.done();
  const third = store.consumeLease('inst-a', q.lease!);
  t.notOk(third.ok);
  if (!third.ok) t.match(third.reason, /unknown or expired/);
  t.equal(store.releaseLease(q.lease!), 'consumed');
  t.equal(store.releaseLease(Buffer.alloc(16, 7)), 'unknown');
  t.equal(store.stats().pinnedBlocks, 0);
});

t.test('an expired lease unpins its blocks', async (t) => {
  const { store, put, advance } = makeStore(2);
  put('a', 'b');
  const q = store.query('i', NS, [h('a'), h('b')]);
  t.same(put('c'), ['dropped']);
  advance(30_001);
  t.equal(store.sweepExpired(), 1);
  t.same(put('c'), ['inserted']);
  t.equal(store.releaseLease(q.lease!), 'unknown');
});

t.test('unregistering an instance drops its leases', async (t) => {
  const { store, put } = makeStore(2);
  put('a');
  store.query('i1', NS, [h('a')]);
  store.query('i2', NS, [h('a')]);
  t.equal(store.releaseInstanceLeases('i1'), 1);
  t.equal(store.stats().activeLeases, 1);
  t.equal(store.stats().pinnedBlocks, 1);
});

t.test('with tensor parallelism a block is stored once every rank saved its slot', async (t) => {
  const { store, events } = makeStore(4);
  t.equal(store.putSlot(NS, h('x'), 1, 2, data('rank1')), 'pending');
  t.equal(store.tierOf(NS, h('x')), undefined, 'not queryable before it is sealed');
  t.equal(store.needsSlot(NS, h('x'), 1), false);
  t.equal(store.needsSlot(NS, h('x'), 0), true);
  t.equal(store.putSlot(NS, h('x'), 0, 2, data('rank0')), 'inserted');
  t.equal(events.inserts, 1);
  const q = store.query('i', NS, [h('x')]);
  const taken = store.consumeLease('i', q.lease!);
  t.ok(taken.ok);
  if (taken.ok) t.same(taken.blocks[0]!.slots, [data('rank0'), data('rank1')]);
});
