// ShareGPT conversations, in either of the two forms people have:
//   raw ShareGPT:      [{ "id", "conversations": [{ "from": "human"|"gpt"|"system"|…, "value" }] }]
//   vLLM's converted:  [{ "id", "messages": [{ "role": "user"|"assistant"|"system", "content" }] }]
// normalised to role/content messages. Malformed conversations are skipped and
// counted; a file that is not a list of conversations is an error.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { seededRandom } from '../../sim/faults.ts';
import { DatasetError } from './long-doc.ts';

export type Role = 'system' | 'user' | 'assistant';
export interface Message {
  role: Role;
  content: string;
}
export interface Conversation {
  id: string;
  messages: Message[];
}

const SPEAKER_ROLES: Record<string, Role> = { human: 'user', user: 'user', gpt: 'assistant', chatgpt: 'assistant', bing: 'assistant', bard: 'assistant', assistant: 'assistant', system: 'system' };

const RawTurn = z.object({ from: z.string(), value: z.string() });
const OpenAiTurn = z.object({ role: z.string(), content: z.string() });
const Entry = z.union([
  z.object({ id: z.union([z.string(), z.number()]).optional(), conversations: z.array(z.unknown()) }),
  z.object({ id: z.union([z.string(), z.number()]).optional(), messages: z.array(z.unknown()) }),
]);

/** Normalises one conversation; undefined when nothing usable is left (no user turn). */
export function normaliseConversation(entry: unknown, index: number): Conversation | undefined {
  const parsed = Entry.safeParse(entry);
  if (!parsed.success) return undefined;
  const turns: Message[] = [];
  const list = 'conversations' in parsed.data ? parsed.data.conversations : parsed.data.messages;
  for (const t of list) {
    const raw = RawTurn.safeParse(t);
    const oa = OpenAiTurn.safeParse(t);
    const role = raw.success ? SPEAKER_ROLES[raw.data.from.toLowerCase()] : oa.success ? SPEAKER_ROLES[oa.data.role.toLowerCase()] : undefined;
    const content = raw.success ? raw.data.value : oa.success ? oa.data.content : '';
    if (!role || content.trim() === '') continue;
    turns.push({ role, content });
  }
  // Optional system message, then user/assistant alternating from a user turn; cut at the first break.
  const messages: Message[] = [];
  let i = 0;
  if (turns[0]?.role === 'system') messages.push(turns[i++]!);
  let expect: Role = 'user';
  for (; i < turns.length; i++) {
    if (turns[i]!.role !== expect) break;
    messages.push(turns[i]!);
    expect = expect === 'user' ? 'assistant' : 'user';
  }
  if (!messages.some((m) => m.role === 'user')) return undefined;
  return { id: String(parsed.data.id ?? `conv-${index}`), messages };
}

export function parseShareGpt(json: unknown, file: string): { conversations: Conversation[]; skipped: number } {
  if (!Array.isArray(json)) {
    throw new DatasetError(`${file}: expected a JSON array of conversations (raw ShareGPT {"conversations": [{"from","value"}]} or {"messages": [{"role","content"}]}), got ${json === null ? 'null' : typeof json}`);
  }
  const conversations: Conversation[] = [];
  let skipped = 0;
  json.forEach((entry, i) => {
    const c = normaliseConversation(entry, i);
    if (c) conversations.push(c);
    else skipped++;
  });
  if (conversations.length === 0) {
    throw new DatasetError(`${file}: no usable conversation among ${json.length} entries; each needs "conversations" [{"from": "human", "value": ...}, …] or "messages" [{"role": "user", "content": ...}, …] starting with a user turn`);
  }
  return { conversations, skipped };
}

export function loadShareGpt(path: string): { conversations: Conversation[]; skipped: number } {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DatasetError(`${path}: cannot read the ShareGPT file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new DatasetError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseShareGpt(json, path);
}

/** Seeded choice of conversations (Fisher–Yates, then the first N). */
export function selectConversations(convs: Conversation[], opts: { numConversations: number; seed: number; file?: string }): Conversation[] {
  if (convs.length < opts.numConversations) {
    throw new DatasetError(`only ${convs.length} usable conversations${opts.file ? ` in ${opts.file}` : ''}, asked for ${opts.numConversations} (--num-conversations)`);
  }
  const order = convs.map((_, i) => i);
  const rand = seededRandom(opts.seed + 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, opts.numConversations).map((i) => convs[i]!);
}

/** The messages to send for each user turn k ≤ maxTurns: everything up to and including that turn, history from the dataset. */
export function turnRequests(conv: Conversation, maxTurns: number): { turn: number; messages: Message[] }[] {
  const out: { turn: number; messages: Message[] }[] = [];
  conv.messages.forEach((m, i) => {
    if (m.role !== 'user' || out.length >= maxTurns) return;
    out.push({ turn: out.length + 1, messages: conv.messages.slice(0, i + 1) });
  });
  return out;
}
