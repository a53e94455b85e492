// The GPU block pool with automatic prefix caching, without a server.
import t from 'tap';
import { BlockPool } from '../../src/sim/vllm/prefix-cache.ts';

const h = (s: string) => Buffer.from(s.padEnd(32, '.'));

t.test('cached blocks are found by their leading hashes and shared by reference counts', async (t) => {
  const pool = new BlockPool(8, true);
  const a = pool.allocate(3)!;
  t.same(a, [0, 1, 2], 'blocks come from the front of the free queue');
  a.forEach((id, i) => pool.cacheBlock(id, h(`a${i}`)));
  t.same(pool.lookup([h('a0'), h('a1'), h('a2')]), a, 'a full hit');
  t.same(pool.lookup([h('a0'), h('x'), h('a2')]), [0], 'the hit stops at the first missing hash');
  t.same(pool.lookup([h('a0'), h('a1'), h('a2')], 2), [0, 1], 'at most maxBlocks');
  t.equal(pool.numUsed, 3);
  pool.touch([0, 1]);
  t.equal(pool.refCount(0), 2, 'a second request shares block 0');
  pool.freeBlocks(a);
  t.equal(pool.refCount(0), 1);
  t.equal(pool.numUsed, 2, 'shared blocks stay in use until the last reference goes');
  pool.freeBlocks([0, 1]);
  t.equal(pool.numUsed, 0);
  t.same(pool.lookup([h('a0'), h('a1'), h('a2')]), a, 'freed blocks stay cached');
  t.equal(pool.usage(), 0);
});

t.test('allocation evicts the least recently freed cached blocks, a request\'s tail first', async (t) => {
  const pool = new BlockPool(4, true);
  const a = pool.allocate(2)!; // 0, 1
  a.forEach((id, i) => pool.cacheBlock(id, h(`a${i}`)));
  const b = pool.allocate(2)!; // 2, 3
  b.forEach((id, i) => pool.cacheBlock(id, h(`b${i}`)));
  pool.freeBlocks(a);
  pool.freeBlocks(b);
  // Free queue now: a1, a0, b1, b0 (each request's tail goes first).
  t.same(pool.allocate(1), [1], 'the oldest request\'s last block is evicted first');
  t.same(pool.lookup([h('a0'), h('a1')]), [0], 'a0 still cached, a1 evicted');
  t.same(pool.lookup([h('b0'), h('b1')]), [2, 3], 'b untouched');
  pool.touch([2, 3]); // b is used again: it leaves the free queue
  t.same(pool.allocate(1), [0], 'then a0');
  t.equal(pool.allocate(1), undefined, 'no free block left: undefined, nothing changes');
  t.ok(pool.canAllocate(0));
  t.notOk(pool.canAllocate(1));
});

t.test('canAllocate accounts for hit blocks that leave the free queue when touched', async (t) => {
  const pool = new BlockPool(3, true);
  const a = pool.allocate(2)!;
  a.forEach((id, i) => pool.cacheBlock(id, h(`a${i}`)));
  pool.freeBlocks(a);
  t.ok(pool.canAllocate(1, a), '3 free, 2 touched, 1 new fits');
  t.notOk(pool.canAllocate(2, a), '2 new do not');
});

t.test('freed blocks without a hash are reused before cached ones', async (t) => {
  const pool = new BlockPool(3, true);
  const [x, y] = pool.allocate(2)!;
  pool.cacheBlock(x!, h('x'));
  pool.freeBlocks([x!]);
  pool.freeBlocks([y!]); // y has no hash
  t.same(pool.allocate(1), [y], 'the uncached block first');
  t.same(pool.lookup([h('x')]), [x], 'the cached one survives');
});

t.test('reset empties the cache only when no block is referenced', async (t) => {
  const pool = new BlockPool(4, true);
  const a = pool.allocate(2)!;
  a.forEach((id, i) => pool.cacheBlock(id, h(`a${i}`)));
  t.equal(pool.reset(), false, 'refused while a request holds blocks');
  t.same(pool.lookup([h('a0')]), [0], 'nothing cleared');
  pool.freeBlocks(a);
  t.equal(pool.reset(), true);
  t.same(pool.lookup([h('a0')]), [], 'cleared');
  t.equal(pool.numCached, 0);
  t.equal(pool.numFree, 4, 'every block free again');
});

t.test('with caching disabled nothing is indexed or found', async (t) => {
  const pool = new BlockPool(4, false);
  const [a] = pool.allocate(1)!;
  t.equal(pool.cacheBlock(a!, h('a')), false);
  t.same(pool.lookup([h('a')]), []);
});

t.test('the same hash computed twice is indexed once', async (t) => {
  const pool = new BlockPool(4, true);
  const [a, b] = pool.allocate(2)!;
  t.equal(pool.cacheBlock(a!, h('same')), true);
  t.equal(pool.cacheBlock(b!, h('same')), false, 'the second block stays unindexed');
  t.same(pool.lookup([h('same')]), [a]);
  t.throws(() => pool.freeBlocks([a!, a!]), /freed more often/);
});
