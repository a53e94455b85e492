// ShareGPT conversations, in either of the two forms people have:
//   raw ShareGPT:     [{"id", "conversations": [{"from": "human"|"gpt"|"system"|"bing"|"chatgpt"|…, "value"}]}]
//   vLLM's converted: [{"id", "messages": [{"role": "user"|"assistant"|"system", "content"}]}]
//                     (what benchmarks/multi_turn/convert_sharegpt_to_openai.py writes)
// normalised to role/content messages, then chosen by a seeded shuffle and cut
// into one request per user turn. Malformed conversations are skipped and
// counted; a file that is not a list of conversations, or has none usable, is
// an error. Nothing here sends a request.
import { z } from 'zod';
import { DatasetError, describeJson, readJsonArrayFile } from './json-file.ts';
import { mixSeed, seededRandom, shuffled } from './random.ts';

export type Role = 'system' | 'user' | 'assistant';
export interface Message {
  role: Role;
  content: string;
}
export interface Conversation {
  id: string;
  /** An optional system message, then user and assistant turns alternating from a user turn. */
  messages: Message[];
}
export type ShareGptForm = 'sharegpt' | 'openai';

export const SHAREGPT_EXPECTED =
  'a JSON array of conversations, raw ShareGPT {"id", "conversations": [{"from": "human" | "gpt" | "system" | "bing" | "chatgpt", "value": string}]} ' +
  'or OpenAI messages {"id", "messages": [{"role": "user" | "assistant" | "system", "content": string}]}, ' +
  'each starting with a user turn after an optional system message';

// As convert_sharegpt_to_openai.py maps them (it also accepts "user" and "bard").
const SPEAKER_ROLES: Readonly<Record<string, Role>> = { human: 'user', user: 'user', gpt: 'assistant', chatgpt: 'assistant', bing: 'assistant', bard: 'assistant', system: 'system' };
const OPENAI_ROLES: Readonly<Record<string, Role>> = { user: 'user', assistant: 'assistant', system: 'system' };

const RawTurn = z.object({ from: z.string(), value: z.string() });
const OpenAiMessage = z.object({ role: z.string(), content: z.string() });
const Id = z.union([z.string(), z.number()]);

export type Normalised =
  | { ok: true; conversation: Conversation; form: ShareGptForm; /** cut at a break of the user/assistant alternation */ truncated: boolean }
  | { ok: false; /** short and stable, so skips can be counted by reason */ reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One entry of either form → a conversation. Empty turns are dropped; an
 * optional system message may come first; then it must be a user turn, and
 * user/assistant turns must alternate: at the first break the conversation is
 * cut (`truncated`). `index` names entries that have no id (`#<index>`).
 */
export function normaliseConversation(entry: unknown, index: number): Normalised {
  if (!isRecord(entry)) return { ok: false, reason: `not an object` };
  const form: ShareGptForm | undefined = Array.isArray(entry['conversations']) ? 'sharegpt' : Array.isArray(entry['messages']) ? 'openai' : undefined;
  if (!form) return { ok: false, reason: 'no "conversations" or "messages" list' };
  const rawId = entry['id'] === undefined ? `#${index}` : Id.safeParse(entry['id']).data;
  if (rawId === undefined) return { ok: false, reason: '"id" is not a string or a number' };

  const turns: Message[] = [];
  for (const t of (form === 'sharegpt' ? entry['conversations'] : entry['messages']) as unknown[]) {
    let role: Role | undefined;
    let content: string;
    if (form === 'sharegpt') {
      const p = RawTurn.safeParse(t);
      if (!p.success) return { ok: false, reason: 'a turn is not {"from": string, "value": string}' };
      role = SPEAKER_ROLES[p.data.from.toLowerCase()];
      if (!role) return { ok: false, reason: `unknown speaker "from": ${JSON.stringify(p.data.from)}` };
      content = p.data.value;
    } else {
      const p = OpenAiMessage.safeParse(t);
      if (!p.success) return { ok: false, reason: 'a message is not {"role": string, "content": string}' };
      role = OPENAI_ROLES[p.data.role.toLowerCase()];
      if (!role) return { ok: false, reason: `unknown "role": ${JSON.stringify(p.data.role)}` };
      content = p.data.content;
    }
    if (content.trim() !== '') turns.push({ role, content });
  }
  if (turns.length === 0) return { ok: false, reason: 'no non-empty turns' };

  const messages: Message[] = [];
  let i = 0;
  if (turns[0]!.role === 'system') messages.push(turns[i++]!);
  if (turns[i]?.role !== 'user') return { ok: false, reason: 'does not start with a user turn (after an optional system message)' };
  let expect: Role = 'user';
  for (; i < turns.length && turns[i]!.role === expect; i++) {
    messages.push(turns[i]!);
    expect = expect === 'user' ? 'assistant' : 'user';
  }
  return { ok: true, conversation: { id: String(rawId), messages }, form, truncated: i < turns.length };
}

export interface ShareGptFile {
  file: string;
  /** Entries in the file's array. */
  entries: number;
  conversations: Conversation[];
  /** Usable conversations of each form. */
  forms: Record<ShareGptForm, number>;
  /** Entries left out. */
  skipped: number;
  skippedByReason: Record<string, { count: number; first: string }>;
  /** Usable conversations cut at a break of the user/assistant alternation. */
  truncated: number;
}

/**
 * Normalises a parsed file. `locate` names an entry in messages (a line and
 * column when read from a file); without it, "item <i>".
 */
export function parseShareGpt(json: unknown, file: string, locate: (index: number) => string = (i) => `item ${i}`): ShareGptFile {
  if (!Array.isArray(json)) throw new DatasetError(`${file}: the top level is ${describeJson(json)}; expected ${SHAREGPT_EXPECTED}`);
  if (json.length === 0) throw new DatasetError(`${file}: the array is empty; expected ${SHAREGPT_EXPECTED}`);
  const out: ShareGptFile = { file, entries: json.length, conversations: [], forms: { sharegpt: 0, openai: 0 }, skipped: 0, skippedByReason: {}, truncated: 0 };
  const seen = new Set<string>();
  const skip = (i: number, reason: string) => {
    out.skipped++;
    const r = (out.skippedByReason[reason] ??= { count: 0, first: locate(i) });
    r.count++;
  };
  json.forEach((entry, i) => {
    const n = normaliseConversation(entry, i);
    if (!n.ok) return skip(i, n.reason);
    if (seen.has(n.conversation.id)) return skip(i, 'duplicate "id"');
    seen.add(n.conversation.id);
    out.conversations.push(n.conversation);
    out.forms[n.form]++;
    if (n.truncated) out.truncated++;
  });
  if (out.conversations.length === 0) {
    throw new DatasetError(`${file}: no usable conversation among ${json.length} entries (${describeSkips(out)}); expected ${SHAREGPT_EXPECTED}`);
  }
  return out;
}

/** "3 × does not start with a user turn (first: item 0 (line 2, column 3)); …" */
export function describeSkips(f: Pick<ShareGptFile, 'skippedByReason'>): string {
  return Object.entries(f.skippedByReason)
    .sort((a, b) => b[1].count - a[1].count)
    .map(([reason, { count, first }]) => `${count} × ${reason} (first: ${first})`)
    .join('; ');
}

/** Reads and normalises a ShareGPT file of either form. */
export function loadShareGpt(path: string): ShareGptFile {
  const { items, locate } = readJsonArrayFile(path, 'ShareGPT dataset (--dataset)', SHAREGPT_EXPECTED);
  return parseShareGpt(items, path, locate);
}

export interface SelectOptions {
  numConversations: number;
  seed: number;
  /** Named in the error when there are too few. */
  file?: string;
}

/** A seeded choice of `numConversations` conversations (a shuffle, then the first N); the same inputs give the same choice. */
export function selectConversations(convs: readonly Conversation[], opts: SelectOptions): Conversation[] {
  if (!Number.isInteger(opts.numConversations) || opts.numConversations < 1) {
    throw new RangeError(`numConversations (--num-conversations) is ${opts.numConversations}; expected an integer ≥ 1`);
  }
  if (convs.length < opts.numConversations) {
    throw new DatasetError(`only ${convs.length} usable conversations${opts.file ? ` in ${opts.file}` : ''}, asked for ${opts.numConversations} (--num-conversations)`);
  }
  return shuffled(convs, seededRandom(mixSeed(opts.seed, 0x5ea6))).slice(0, opts.numConversations);
}

export interface TurnRequest {
  /** 1 for the first user turn. */
  turn: number;
  /** Everything before the user turn, then the user turn; the assistant turns are the dataset's. */
  messages: Message[];
}

/**
 * One request per user turn, up to `maxTurns`: the messages before that user
 * turn and the turn itself. History is the dataset's own assistant turns, never
 * what a server generated, so the connector and baseline servers receive the
 * same prompts whatever they answer.
 */
export function turnRequests(conv: Conversation, maxTurns: number): TurnRequest[] {
  if (!Number.isInteger(maxTurns) || maxTurns < 1) throw new RangeError(`maxTurns (--max-turns) is ${maxTurns}; expected an integer ≥ 1`);
  const out: TurnRequest[] = [];
  for (let i = 0; i < conv.messages.length && out.length < maxTurns; i++) {
    if (conv.messages[i]!.role === 'user') out.push({ turn: out.length + 1, messages: conv.messages.slice(0, i + 1).map((m) => ({ ...m })) });
  }
  return out;
}

const userTurns = (c: Conversation) => c.messages.reduce((n, m) => n + (m.role === 'user' ? 1 : 0), 0);

export interface DatasetSummary {
  file: string;
  entries: number;
  usable: number;
  skipped: number;
  skippedByReason: ShareGptFile['skippedByReason'];
  truncated: number;
  forms: ShareGptFile['forms'];
  /** Usable conversations with a second user turn (the turns whose TTFT the cache should improve). */
  multiTurn: number;
  /** One line for logs. */
  text: string;
}

/**
 * Checks a `--dataset` file before any server starts: it reads, normalises and,
 * when `numConversations` is given, makes the same seeded choice the test will
 * make and checks that some chosen conversation has a second user turn when
 * `maxTurns` ≥ 2. Throws DatasetError naming the file; returns what it found.
 */
export function validateDatasetFile(path: string, opts: { numConversations?: number; seed?: number; maxTurns?: number } = {}): DatasetSummary {
  const f = loadShareGpt(path);
  if (opts.numConversations !== undefined) {
    const chosen = selectConversations(f.conversations, { numConversations: opts.numConversations, seed: opts.seed ?? 0, file: path });
    if ((opts.maxTurns ?? 2) >= 2 && !chosen.some((c) => userTurns(c) >= 2)) {
      throw new DatasetError(`${path}: none of the ${chosen.length} chosen conversations (seed ${opts.seed ?? 0}) has a second user turn; expected multi-turn conversations, since turns 2 and later are what the test measures`);
    }
  }
  const multiTurn = f.conversations.filter((c) => userTurns(c) >= 2).length;
  const skips = f.skipped ? `, ${f.skipped} skipped (${describeSkips(f)})` : '';
  const cut = f.truncated ? `, ${f.truncated} cut at a break of the user/assistant alternation` : '';
  return {
    file: path,
    entries: f.entries,
    usable: f.conversations.length,
    skipped: f.skipped,
    skippedByReason: f.skippedByReason,
    truncated: f.truncated,
    forms: f.forms,
    multiTurn,
    text: `${path}: ${f.conversations.length} usable conversations of ${f.entries} (${multiTurn} multi-turn)${skips}${cut}`,
  };
}
