// Value parsers for env vars and flags: raw strings in, typed values out, with
// error messages that say what was expected. Each is a zod schema so the whole
// configuration validates in one pass and reports every problem at once.
import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
};

export interface Size {
  /** As the user wrote it (normalised to lower case); passed through to PegaFlow unchanged. */
  text: string;
  bytes: number;
}

/** PegaFlow's size syntax: a number and a unit of b, kb, mb, gb or tb (1024-based), e.g. `50gb`, `1.5tb`. */
export function parseSize(raw: string): Size | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * mult);
  return { text: `${m[1]}${unit}`, bytes };
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, '': 1, m: 60, h: 3600 };

/** Seconds: a plain number (as the bash suite took) or with a unit: `250ms`, `30s`, `10m`, `1h`. */
export function parseDurationS(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  if (!m) return undefined;
  return Number(m[1]) * DURATION_UNITS[m[2] ?? '']!;
}

/** Splits a string into words like a POSIX shell would (single/double quotes, backslash escapes), without expansion. */
export function splitShellWords(raw: string): string[] | undefined {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else current += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1]!)) current += raw[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < raw.length) {
      current += raw[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) words.push(current);
  return words;
}

function refineString<T>(expected: string, parse: (raw: string) => T | undefined) {
  return z.string().transform((raw, ctx): T => {
    const value = parse(raw);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
      return z.NEVER;
    }
    return value;
  });
}

function parseNumber(raw: string): number | undefined {
  if (!/^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw)) return undefined;
  return Number(raw);
}

export const v = {
  string: (what = 'a non-empty string') => refineString(what, (raw) => (raw.trim() === '' ? undefined : raw)),
  port: () =>
    refineString('a TCP port (whole number from 1 to 65535)', (raw) => {
      const n = parseNumber(raw);
      return n !== undefined && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
    }),
  int: (min: number, max = Number.MAX_SAFE_INTEGER, what?: string) =>
    refineString(what ?? `a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`, (raw) => {
      const n = parseNumber(raw);
      return n !== undefined && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
    }),
  positive: (what: string) =>
    refineString(what, (raw) => {
      const n = parseNumber(raw);
      return n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
    }),
  fraction: () =>
    refineString('a fraction from 0 to 1 (e.g. 0.05)', (raw) => {
      const n = parseNumber(raw);
      return n !== undefined && n >= 0 && n <= 1 ? n : undefined;
    }),
  durationS: (what = 'a duration: seconds, or a number with ms, s, m or h (e.g. 600, 30s, 10m)') =>
    refineString(what, (raw) => {
      const s = parseDurationS(raw);
      return s !== undefined && s > 0 ? s : undefined;
    }),
  size: () => refineString('a size: a number with b, kb, mb, gb or tb (e.g. 50gb, 512mb)', parseSize),
  bool: () =>
    refineString('true or false (also 1/0, yes/no)', (raw) => {
      const s = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
      return undefined;
    }),
  oneOf: <const T extends readonly [string, ...string[]]>(values: T) =>
    refineString(`one of ${values.join(', ')}`, (raw) => (values.includes(raw.trim()) ? (raw.trim() as T[number]) : undefined)),
  shellWords: () => refineString('arguments with balanced quotes', splitShellWords),
  /** Comma-separated words, each one of `values` (empty: none). */
  listOf: <const T extends readonly [string, ...string[]]>(values: T) =>
    refineString(`a comma-separated list of ${values.join(', ')} (or empty)`, (raw) => {
      const items = raw.split(',').map((x) => x.trim()).filter(Boolean);
      return items.every((x) => values.includes(x)) ? (items as T[number][]) : undefined;
    }),
  /** Comma-separated names (empty: none); which names exist is checked by the script. */
  names: () => refineString('comma-separated names', (raw) => raw.split(',').map((x) => x.trim()).filter(Boolean)),
  deviceList: () =>
    refineString('a GPU index or comma-separated list (e.g. 0 or 0,1)', (raw) => {
      const parts = raw.split(',').map((p) => p.trim());
      const nums = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
      return nums.every((n) => Number.isInteger(n)) && nums.length > 0 ? nums : undefined;
    }),
};
