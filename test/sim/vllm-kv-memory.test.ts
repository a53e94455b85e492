// The KV memory file: layout, reads and writes by block, clean-up.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { KvMemoryFile } from '../../src/sim/vllm/kv-memory.ts';

function dir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'kvgate-vllm-kv-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('block i holds its 32-byte digest at offset 32*i; runs of ids read and write in place', async (t) => {
  const d = dir(t);
  const kv = KvMemoryFile.create(`vllm-sim-${process.pid}-abc`, 8, d);
  t.equal(kv.path, join(d, `kvgate-sim-kv-vllm-sim-${process.pid}-abc.bin`));
  t.equal(statSync(kv.path).size, 8 * 32, 'N blocks × 32 bytes, zero-filled');
  const digest = (b: number) => Buffer.alloc(32, b);
  kv.write([5, 6, 2], [digest(0xa5), digest(0xa6), digest(0xa2)]);
  const raw = readFileSync(kv.path);
  t.same(raw.subarray(5 * 32, 6 * 32), digest(0xa5));
  t.same(raw.subarray(2 * 32, 3 * 32), digest(0xa2));
  t.same(kv.read([2, 5, 6, 0]), [digest(0xa2), digest(0xa5), digest(0xa6), digest(0)]);
  t.throws(() => kv.read([8]), /out of range/);
  kv.close();
  t.notOk(existsSync(kv.path), 'close deletes the file');
});

t.test('files left by simulated vLLM processes that are gone are swept; live ones are kept', async (t) => {
  const d = dir(t);
  const dead = join(d, 'kvgate-sim-kv-vllm-sim-999999999-deadbeef.bin');
  const mine = join(d, `kvgate-sim-kv-vllm-sim-${process.pid}-cafe.bin`);
  const other = join(d, 'kvgate-sim-kv-something-else.bin');
  for (const f of [dead, mine, other]) writeFileSync(f, '');
  t.same(KvMemoryFile.sweepStale(d), ['kvgate-sim-kv-vllm-sim-999999999-deadbeef.bin']);
  t.notOk(existsSync(dead));
  t.ok(existsSync(mine), 'a live process keeps its file');
  t.ok(existsSync(other), 'files of other naming are not touched');
});
