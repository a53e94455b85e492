// The real pegaflow-server 0.25.1 captures in test/fixtures/real/pegaflow/
// (see SOURCE.md there): text as captured, parsed snapshots, and the flags
// its --help lists.
import { readFileSync } from 'node:fs';
import { parseMetrics, type MetricSnapshot } from '../../src/analysis/prometheus.ts';

export const REAL_PEGAFLOW_DIR = new URL('../fixtures/real/pegaflow/', import.meta.url);

export function realPegaflowText(name: string): string {
  return readFileSync(new URL(name, REAL_PEGAFLOW_DIR), 'utf8');
}

export function realPegaflowMetrics(stage: 'before' | 'after' | 'after-cleanup'): MetricSnapshot {
  return parseMetrics(realPegaflowText(`metrics-${stage}.txt`));
}

/** `--name` → takes a value, from clap's help layout (`--name <VALUE>`, `--name <VALUE>...`, `--name`). */
export function realPegaflowFlags(): Map<string, { takesValue: boolean; defaultText?: string }> {
  const flags = new Map<string, { takesValue: boolean; defaultText?: string }>();
  const lines = realPegaflowText('help.txt').split('\n');
  lines.forEach((line, i) => {
    const m = /^\s+(?:-\w, )?--([a-z0-9-]+)( <[A-Z_]+>(?:\.\.\.)?)?\s*$/.exec(line);
    if (!m) return;
    const def = /\[default: ([^\]]+)\]/.exec(lines[i + 1] ?? '')?.[1];
    flags.set(m[1]!, { takesValue: m[2] !== undefined, ...(def !== undefined ? { defaultText: def } : {}) });
  });
  return flags;
}

/** `# TYPE` declarations of a capture: family name → type. */
export function declaredFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Family → sorted label names seen on its samples (histogram `le` dropped). */
export function labelKeys(text: string): Map<string, string> {
  const types = declaredFamilies(text);
  const out = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} /gm)) {
    let name = m[1]!;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    if (base !== name && types.get(base) === 'histogram') name = base;
    const keys = [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((k) => k[1]!).filter((k) => k !== 'le');
    const set = out.get(name) ?? new Set<string>();
    keys.forEach((k) => set.add(k));
    out.set(name, set);
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort().join(',')]));
}
