// lm_eval 0.4.13's `regex` and `take_first` filters and its exact_match
// metric (the HF-evaluate variant: regexes_to_ignore, ignore_case,
// ignore_punctuation, ignore_numbers), on Python regular expressions
// translated to JavaScript. Checked against real outputs in
// test/fixtures/real/lm_eval/filter-cases.json.
import type { FilterStep, MetricConfig } from './task.ts';

export class RegexTranslationError extends Error {}

/**
 * A Python `re` pattern as a JavaScript RegExp (always global). Handles what
 * lm_eval tasks use: leading inline flags ((?s), (?i), (?m)), Python's `$`
 * (also matches before a final newline), \A, \Z, (?P<name>…) and (?P=name).
 * Known differences left: \d and \w are ASCII-only here (Unicode in Python).
 */
export function pyRegex(pattern: string): RegExp {
  let src = pattern;
  let flags = 'g';
  const inline = /^\(\?([aiLmsux]+)\)/.exec(src);
  if (inline) {
    for (const f of inline[1]!) {
      if (f === 's' || f === 'i' || f === 'm') flags += f;
      else throw new RegexTranslationError(`inline flag (?${f}) in ${JSON.stringify(pattern)} is not supported by the stand-in`);
    }
    src = src.slice(inline[0].length);
  }
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === 'A' && !inClass) out += '^(?<![\\s\\S])';
      else if (n === 'Z' && !inClass) out += '$(?![\\s\\S])';
      else out += c + (n ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') out += src[++i]; // a leading ] is literal in Python
      continue;
    }
    if (c === '$' && !multiline) {
      out += '(?=\\n?$(?![\\s\\S]))';
      continue;
    }
    if (src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    const back = /^\(\?P=(\w+)\)/.exec(src.slice(i));
    if (back) {
      out += `\\k<${back[1]}>`;
      i += back[0].length - 1;
      continue;
    }
    if (src.startsWith('(?', i) && /^\(\?[aiLmsux]/.test(src.slice(i))) {
      throw new RegexTranslationError(`inline flags inside ${JSON.stringify(pattern)} are not supported by the stand-in`);
    }
    out += c;
  }
  return new RegExp(out, flags);
}

/** Python's re.findall: the whole match, the one group, or a tuple of all groups ('' for a group that did not take part). */
export function findall(re: RegExp, s: string): (string | string[])[] {
  return [...s.matchAll(re)].map((m) => (m.length === 1 ? m[0] : m.length === 2 ? (m[1] ?? '') : m.slice(1).map((g) => g ?? '')));
}

/** lm_eval's RegexFilter on one response. */
export function regexFilter(resp: unknown, step: FilterStep): string {
  const fallback = step.fallback ?? '[invalid]';
  const re = pyRegex(step.regex_pattern ?? '#### (\\-?[0-9\\.\\,]+)');
  const matches = findall(re, typeof resp === 'string' ? resp : '');
  if (matches.length === 0) return fallback;
  const sel = step.group_select ?? 0;
  const idx = sel < 0 ? matches.length + sel : sel;
  if (idx < 0 || idx >= matches.length) throw new RangeError(`IndexError: list index out of range (group_select ${sel}, ${matches.length} matches)`);
  let m = matches[idx]!;
  if (Array.isArray(m)) {
    const nonEmpty = m.filter((g) => g);
    m = nonEmpty.length ? nonEmpty[0]! : fallback;
  }
  return m.trim();
}

/** A filter pipeline (regex steps, then take_first) on one document's responses: what lm_eval logs in filtered_resps. */
export function applyFilterPipeline(resps: string[], steps: FilterStep[]): string | string[] {
  let cur: string | string[] = resps;
  for (const step of steps) {
    if (step.function === 'regex') {
      if (!Array.isArray(cur)) throw new Error('regex after take_first is not supported by the stand-in');
      cur = cur.map((r) => regexFilter(r, step));
    } else if (step.function === 'take_first') {
      if (!Array.isArray(cur)) throw new Error('take_first twice is not supported by the stand-in');
      cur = cur[0] ?? '';
    } else throw new Error(`filter function ${step.function} is not supported by the stand-in`);
  }
  return cur;
}

// Python's string.punctuation.
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** exact_match for one prediction and one reference: 1.0 or 0.0. */
export function exactMatch(prediction: string, reference: string, m: Omit<MetricConfig, 'metric'>): number {
  let p = prediction;
  let r = reference;
  for (const pattern of m.regexes_to_ignore ?? []) {
    const re = pyRegex(pattern);
    p = p.replace(re, '');
    r = r.replace(re, '');
  }
  if (m.ignore_case) {
    p = p.toLowerCase();
    r = r.toLowerCase();
  }
  const strip = (s: string, chars: string) => [...s].filter((ch) => !chars.includes(ch)).join('');
  if (m.ignore_punctuation) {
    p = strip(p, PUNCTUATION);
    r = strip(r, PUNCTUATION);
  }
  if (m.ignore_numbers) {
    p = strip(p, '0123456789');
    r = strip(r, '0123456789');
  }
  return p === r ? 1.0 : 0.0;
}
