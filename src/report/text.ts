// Text hygiene shared by the reporters: ANSI stripping, one-line folding,
// truncation, escaping for XML/HTML and Markdown, number formatting.

// CSI (colours, cursor moves), OSC (titles, hyperlinks) and lone two-byte escapes.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}

/** Folds whitespace runs with newlines into " | " so a reason stays one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' | ').trim();
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Cuts a string to at most maxBytes of UTF-8, on a character boundary. */
export function truncateBytes(text: string, maxBytes: number, marker = '\n\n…(truncated)\n'): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(marker);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(text.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  let cut = text.slice(0, lo);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + marker;
}

// Characters XML 1.0 forbids (C0 controls except tab/newline/return, lone surrogates, U+FFFE/U+FFFF).
const XML_INVALID = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Removes ANSI codes and characters XML cannot hold (server logs carry both). */
export function xmlSafe(text: string): string {
  return stripAnsi(text).replace(XML_INVALID, '\uFFFD');
}

/** Escapes element text for XML and HTML. */
export function escapeXml(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes an attribute value (double or single quoted); keeps newlines and tabs as character references. */
export function escapeXmlAttr(text: string): string {
  return escapeXml(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

export function escapeHtml(text: string): string {
  return escapeXml(text).replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// C0 control characters other than tab and newline (bells, backspaces, stray escapes).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0B-\x1F\x7F]/g;

/** One line of plain text: no ANSI codes, no control characters, newlines folded. */
export function cleanLine(text: string): string {
  return oneLine(stripAnsi(text)).replace(CONTROL, '');
}

/** Escapes inline Markdown (GFM): HTML-significant characters, formatting marks and table pipes. */
export function escapeMarkdown(text: string): string {
  return oneLine(stripAnsi(text))
    .replace(CONTROL, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]{}#+!|~])/g, '\\$1');
}

/** Inline code span that survives backticks in the content. */
export function markdownCode(text: string): string {
  const clean = oneLine(stripAnsi(text)).replace(CONTROL, '');
  const longest = Math.max(0, ...[...clean.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

/** Fenced code block whose fence is longer than any backtick run inside. */
export function markdownFence(text: string, lang = ''): string {
  const clean = stripAnsi(text).replace(/\r/g, '').replace(CONTROL, '');
  const longest = Math.max(0, ...[...clean.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${clean}${clean.endsWith('\n') ? '' : '\n'}${fence}`;
}

/** A figure for people: 3 significant digits, plain integers as they are. */
export function fmtNum(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return `${v}${unit}`;
  const s = Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
  return `${s}${unit}`;
}

/** A value with its unit: "0.31 s", "5.8x", "2.2%". */
export function withUnit(v: number | null | undefined, unit: string | undefined): string {
  if (!unit) return fmtNum(v);
  return fmtNum(v, /^[x×%]$/.test(unit) ? unit : ` ${unit}`);
}

export function fmtDurationS(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m - h * 60}m`;
}

export function fmtPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits).replace(/\.0+$/, '')}%`;
}
