// Fault injection shared by the simulated servers. A fault plan is parsed from
// the `--sim-faults` flag (comma-separated, repeatable) and the
// KVGATE_SIM_FAULTS env var, e.g. `corrupt-load,slow-load=3,error-rate=0.05`.
// Faults that fire "sometimes" draw from a generator seeded by
// `--sim-fault-seed` / KVGATE_SIM_FAULT_SEED, so a scenario replays exactly.

/** What each fault does and which value it takes; the source of `--help` and the README table. */
export const FAULTS = {
  'corrupt-load': { server: 'pegaflow', value: 'fraction', default: 1, help: 'alter one block of each Load (fraction of loads, default all) before writing it into the vLLM KV memory' },
  'slow-load': { server: 'pegaflow', value: 'factor', default: 3, help: 'multiply the time of every Load by this factor' },
  'drop-saves': { server: 'pegaflow', value: 'none', default: 1, help: 'answer Save with ok but store nothing' },
  'no-connector': { server: 'vllm', value: 'none', default: 1, help: 'keep --kv-transfer-config but never query, load or save through PegaFlow' },
  'error-rate': { server: 'any', value: 'fraction', default: 0.05, help: 'answer this fraction of requests with HTTP 500 (vLLM) or gRPC INTERNAL (PegaFlow)' },
  'cut-stream': { server: 'vllm', value: 'fraction', default: 0.1, help: 'end this fraction of streams after the first content chunk, without [DONE]' },
  'crash-after': { server: 'any', value: 'count', default: 20, help: 'exit with code 1 after serving this many requests (vLLM) or RPCs (PegaFlow)' },
  'startup-fail': { server: 'any', value: 'none', default: 1, help: 'exit with code 1 during start-up, after logging an error' },
  'ignore-reset': { server: 'vllm', value: 'none', default: 1, help: 'POST /reset_prefix_cache answers 200 but clears nothing' },
  'no-reset-endpoint': { server: 'vllm', value: 'none', default: 1, help: 'POST /reset_prefix_cache answers 404, as real vLLM without VLLM_SERVER_DEV_MODE=1' },
} as const;

export type FaultName = keyof typeof FAULTS;

export class FaultSpecError extends Error {}

export interface FaultPlan {
  readonly active: ReadonlyMap<FaultName, number>;
  has(name: FaultName): boolean;
  /** The fault's value (factor, fraction or count), or undefined when not active. */
  value(name: FaultName): number | undefined;
  /** For fraction-valued faults: draws once from the seeded generator; true when the fault fires now. */
  fires(name: FaultName): boolean;
  describe(): string;
}

function isFaultName(name: string): name is FaultName {
  return Object.prototype.hasOwnProperty.call(FAULTS, name);
}

/** Parses `name[=value]` items; throws FaultSpecError naming the item and what is expected. */
export function parseFaultSpec(specs: readonly string[]): Map<FaultName, number> {
  const active = new Map<FaultName, number>();
  for (const item of specs.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const [rawName, rawValue] = item.split('=', 2) as [string, string | undefined];
    if (!isFaultName(rawName)) {
      throw new FaultSpecError(`unknown fault "${rawName}" in "${item}"; known faults: ${Object.keys(FAULTS).join(', ')}`);
    }
    const meta = FAULTS[rawName];
    let value: number = meta.default;
    if (rawValue !== undefined) {
      if (meta.value === 'none') throw new FaultSpecError(`fault "${rawName}" takes no value (got "${item}")`);
      value = Number(rawValue);
      const ok =
        Number.isFinite(value) &&
        (meta.value === 'fraction' ? value >= 0 && value <= 1 : meta.value === 'count' ? Number.isInteger(value) && value >= 0 : value > 0);
      if (!ok) {
        const expected = meta.value === 'fraction' ? 'a fraction between 0 and 1' : meta.value === 'count' ? 'a whole number >= 0' : 'a number > 0';
        throw new FaultSpecError(`fault "${rawName}" needs ${expected} (got "${rawValue}")`);
      }
    }
    active.set(rawName, value);
  }
  return active;
}

/** splitmix32: small, fast, good enough for deterministic fault draws. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 0x1_0000_0000;
  };
}

export function createFaultPlan(specs: readonly string[], seed = 0): FaultPlan {
  const active = parseFaultSpec(specs);
  // One generator per fault, so adding a fault never shifts another's draws.
  const draws = new Map<FaultName, () => number>();
  let i = 0;
  for (const name of active.keys()) draws.set(name, seededRandom(seed * 1009 + 7919 * ++i));
  return {
    active,
    has: (name) => active.has(name),
    value: (name) => active.get(name),
    fires(name) {
      const v = active.get(name);
      if (v === undefined) return false;
      if (FAULTS[name].value !== 'fraction') return true;
      return (draws.get(name) ?? Math.random)() < v;
    },
    describe() {
      if (active.size === 0) return 'none';
      return [...active].map(([n, v]) => (FAULTS[n].value === 'none' ? n : `${n}=${v}`)).join(',');
    },
  };
}

/** Collects fault specs from `--sim-faults` values and KVGATE_SIM_FAULTS. */
export function faultSpecsFrom(flagValues: readonly string[], env: NodeJS.ProcessEnv): string[] {
  return [...(env['KVGATE_SIM_FAULTS'] ? [env['KVGATE_SIM_FAULTS']] : []), ...flagValues];
}
