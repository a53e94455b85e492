// Registered vLLM instances and the KV memory of each of their workers
// (one per tensor-parallel rank), as RegisterContextBatch describes them.
import type { KvMemory } from './kv-memory.ts';

export interface Worker {
  tpRank: number;
  deviceId: number;
  layerName: string;
  kv: KvMemory;
}

export interface Instance {
  id: string;
  namespace: string;
  tpSize: number;
  worldSize: number;
  /** Keyed by tp_rank. */
  workers: Map<number, Worker>;
}

export interface InstanceTopology {
  namespace: string;
  tpSize: number;
  worldSize: number;
}

export class InstanceRegistry {
  private readonly instances = new Map<string, Instance>();

  /** @param onRemove runs for each removed instance (drop its leases). */
  constructor(private readonly onRemove: (instanceId: string) => void = () => {}) {}

  get(id: string): Instance | undefined {
    return this.instances.get(id);
  }

  /** Why a registration would conflict with the instance already known under this id, if it would. */
  conflict(id: string, topo: InstanceTopology): string | undefined {
    const inst = this.instances.get(id);
    if (!inst) return undefined;
    if (inst.namespace === topo.namespace && inst.tpSize === topo.tpSize && inst.worldSize === topo.worldSize) return undefined;
    return `instance ${id} is registered with namespace=${inst.namespace} tp_size=${inst.tpSize} world_size=${inst.worldSize}; got namespace=${topo.namespace} tp_size=${topo.tpSize} world_size=${topo.worldSize}`;
  }

  /** Adds (or replaces) one worker; returns true when that rank was already registered. */
  async addWorker(id: string, topo: InstanceTopology, worker: Worker): Promise<boolean> {
    let inst = this.instances.get(id);
    if (!inst) {
      inst = { id, ...topo, workers: new Map() };
      this.instances.set(id, inst);
    }
    const old = inst.workers.get(worker.tpRank);
    inst.workers.set(worker.tpRank, worker);
    if (old && old.kv !== worker.kv) await old.kv.close();
    return old !== undefined;
  }

  /** Removes an instance; the number of workers it had, or undefined when unknown. */
  async remove(id: string): Promise<number | undefined> {
    const inst = this.instances.get(id);
    if (!inst) return undefined;
    this.instances.delete(id);
    this.onRemove(id);
    await Promise.all([...inst.workers.values()].map((w) => w.kv.close()));
    return inst.workers.size;
  }

  async removeAll(): Promise<{ ids: string[]; workers: number }> {
    const ids = this.list();
    let workers = 0;
    for (const id of ids) workers += (await this.remove(id)) ?? 0;
    return { ids, workers };
  }

  list(): string[] {
    return [...this.instances.keys()].sort();
  }
}
