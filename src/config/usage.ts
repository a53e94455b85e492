// --help text, generated from the option table so it can never drift from what is parsed.
import { OPTIONS, type OptionGroup, type OptionId, type OptionSpec, type Script } from './options.ts';
import { GROUPS_BY_SCRIPT } from './config.ts';

export interface ScriptDoc {
  synopsis: string;
  description: string;
  /** Extra sections (commands, examples) shown before the options. */
  sections?: { title: string; lines: string[] }[];
}

const GROUP_TITLES: Record<OptionGroup, string> = {
  stack: 'Stack',
  servers: 'Servers',
  timeouts: 'Timeouts',
  thresholds: 'Pass criteria',
  results: 'Results',
  suite: 'Suite',
  'lm-eval': 'lm_eval consistency',
  'long-doc': 'Long-document QA',
  'share-gpt': 'ShareGPT multi-turn',
  'self-test': 'Self-test',
};

export function defaultText(spec: OptionSpec, script: Script): string {
  const forScript = spec.defaultFor?.[script];
  const sim = spec.defaultFor?.sim;
  if (spec.defaultHelp) return spec.defaultHelp;
  if (spec.switch) return 'off';
  let text = forScript ?? spec.default ?? '';
  if (text === '') text = 'none';
  if (sim !== undefined && forScript === undefined) text += ` (sim: ${sim})`;
  return text;
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s}  ` : s + ' '.repeat(n - s.length);
}

export function usage(script: Script, doc: ScriptDoc): string {
  const lines: string[] = [`Usage: ${doc.synopsis}`, '', doc.description, ''];
  for (const section of doc.sections ?? []) lines.push(`${section.title}:`, ...section.lines.map((l) => `  ${l}`), '');
  const entries = Object.entries(OPTIONS) as [OptionId, OptionSpec][];

  const flagRows = entries
    .filter(([, s]) => s.flag && s.scripts?.includes(script))
    .map(([, s]) => {
      const names = [s.flag!, ...(s.aliases ?? [])].join(', ') + (s.switch ? '' : ' VALUE');
      const env = s.env ? ` [env ${s.env}]` : '';
      return [names, `${s.help} (default: ${defaultText(s, script)})${env}`] as [string, string];
    });
  flagRows.push(['-h, --help', 'show this help and exit']);
  lines.push('Options:');
  for (const [names, text] of flagRows) lines.push(`  ${pad(names, 30)}${text}`);
  lines.push('');

  lines.push('Environment (flags win over env vars):');
  for (const group of GROUPS_BY_SCRIPT[script]) {
    const rows = entries.filter(([, s]) => s.group === group && s.env);
    if (!rows.length) continue;
    lines.push(`  ${GROUP_TITLES[group]}:`);
    for (const [, s] of rows) lines.push(`    ${pad(s.env!, 28)}${s.help} (default: ${defaultText(s, script)})`);
  }
  lines.push('', 'Exit codes: 0 passed, 1 a test failed, 2 bad configuration or usage, 3 infrastructure error, 130/143 interrupted.');
  return lines.join('\n') + '\n';
}
