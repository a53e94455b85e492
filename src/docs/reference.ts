// The README's reference tables, generated from the tables the code runs on
// (options, sim faults, self-test scenarios), so the docs cannot drift from
// what is parsed. `npm run docs` rewrites the marked blocks in README.md;
// test/docs/readme.test.ts fails when they are out of date.
import { GROUPS_BY_SCRIPT } from '../config/config.ts';
import { OPTIONS, SCRIPTS, type OptionGroup, type OptionSpec, type Script } from '../config/options.ts';
import { defaultText } from '../config/usage.ts';
import { FAULTS } from '../sim/faults.ts';
import { SCENARIOS } from '../selftest/scenarios.ts';

const GROUP_TITLES: Record<OptionGroup, string> = {
  stack: 'Stack',
  servers: 'Servers',
  timeouts: 'Timeouts',
  thresholds: 'Pass criteria',
  results: 'Results',
  suite: 'Suite (`run-all-tests`)',
  'lm-eval': 'lm_eval consistency',
  'long-doc': 'Long-document QA',
  'share-gpt': 'ShareGPT multi-turn',
  'self-test': 'Self-test (`self-test`)',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => `\`${s}\``;

/** Which scripts read an option: those whose groups include it, plus those that accept its flag. */
function readers(spec: OptionSpec): Script[] {
  return SCRIPTS.filter((s) => GROUPS_BY_SCRIPT[s].includes(spec.group) || spec.scripts?.includes(s));
}

function defaultCell(spec: OptionSpec): string {
  const d = defaultText(spec, 'run-lm-eval');
  const perScript = Object.entries(spec.defaultFor ?? {})
    .filter(([k]) => k !== 'sim')
    .map(([k, v]) => `${v} in ${k}`);
  return [d === 'none' || d === 'off' ? d : code(spec.defaultHelp ?? d), ...perScript].join('; ');
}

/** One table per option group: env var, flag, default, meaning, scripts. */
export function optionsReference(): string {
  const out: string[] = [];
  const groups = [...new Set(Object.values(OPTIONS).map((o) => o.group))] as OptionGroup[];
  for (const g of groups) {
    out.push(`#### ${GROUP_TITLES[g]}`, '', '| env var | flag | default | meaning | read by |', '| --- | --- | --- | --- | --- |');
    for (const spec of Object.values(OPTIONS) as OptionSpec[]) {
      if (spec.group !== g) continue;
      const flag = spec.flag ? [spec.flag, ...(spec.aliases ?? [])].map(code).join(', ') + (spec.switch ? '' : ' VALUE') : '';
      const scripts = readers(spec);
      const who = scripts.length === SCRIPTS.length ? 'all' : scripts.length === SCRIPTS.length - 1 && !scripts.includes('self-test') ? 'all but self-test' : scripts.join(', ');
      out.push(`| ${spec.env ? code(spec.env) : ''} | ${flag} | ${cell(defaultCell(spec))} | ${cell(spec.help)} | ${who} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** The sim's fault table: name, server, value, effect. */
export function faultsReference(): string {
  const rows = Object.entries(FAULTS).map(([name, f]) => `| ${code(name)} | ${f.server === 'any' ? 'PegaFlow or vLLM' : f.server === 'pegaflow' ? 'PegaFlow' : 'vLLM'} | ${f.value === 'none' ? '' : `${f.value} (default ${f.default})`} | ${cell(f.help)} |`);
  return ['| fault | server | value | effect |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The self-test scenarios: faults, tests and expected verdicts, what each proves. */
export function scenariosReference(): string {
  const rows = SCENARIOS.map((s) => {
    const faults = [
      ...Object.entries(s.faults ?? {}).map(([server, f]) => `${server}: ${code(f)}`),
      ...Object.entries(s.serverArgs ?? {}).map(([server, a]) => `${server}: ${code(a.join(' '))}`),
    ].join('<br>');
    const expect = Object.entries(s.expect)
      .map(([t, e]) => `${t} → **${e.status}**${e.criteria ? ` (${Object.entries(e.criteria).map(([c, st]) => `${c} ${st}`).join(', ')})` : ''}`)
      .join('<br>');
    return `| ${code(s.name)}${s.quick ? '' : ' (with baseline)'} | ${faults || 'none'} | ${expect} | ${cell(s.proves)} |`;
  });
  return ['| scenario | injected | tests → expected verdict | what it proves |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export const GENERATED_BLOCKS: Record<string, () => string> = {
  options: optionsReference,
  faults: faultsReference,
  scenarios: scenariosReference,
};

/** Markdown files with generated blocks, and the blocks each must have. */
export const GENERATED_FILES: Record<string, readonly string[]> = {
  'README.md': ['options', 'faults', 'scenarios'],
  'src/sim/README.md': ['faults'],
};

/** Text with each named `<!-- generated:NAME -->…<!-- /generated:NAME -->` block replaced by its current content. */
export function regenerate(readme: string, blocks: readonly string[] = Object.keys(GENERATED_BLOCKS)): string {
  let out = readme;
  for (const name of blocks) {
    const gen = GENERATED_BLOCKS[name]!;
    const re = new RegExp(`(<!-- generated:${name} [^>]*-->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out)) throw new Error(`README.md has no <!-- generated:${name} … --> block`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}\n${gen()}\n${close}`);
  }
  return out;
}
