// Chat messages → prompt text, with a fixed ChatML template (the one Qwen
// models use):
//
//   <|im_start|>{role}\n{content}<|im_end|>\n     for every message, in order
//   <|im_start|>assistant\n                        the generation prompt
//
// `content` may be a string or a list of parts; text parts are joined with "\n",
// other parts (images, audio) are refused. A `--chat-template` file is accepted
// for compatibility and not interpreted (see README).

export interface ChatMessage {
  role: string;
  content: string | { type: string; text?: string }[] | null;
}

export class ChatTemplateError extends Error {}

function contentText(m: ChatMessage, i: number): string {
  if (m.content === null || m.content === undefined) return '';
  if (typeof m.content === 'string') return m.content;
  if (!Array.isArray(m.content)) throw new ChatTemplateError(`messages[${i}].content must be a string or a list of content parts`);
  return m.content
    .map((part, j) => {
      if (part?.type !== 'text' || typeof part.text !== 'string') {
        throw new ChatTemplateError(`messages[${i}].content[${j}]: the simulated model takes only {"type":"text","text":...} parts (got type ${JSON.stringify(part?.type)})`);
      }
      return part.text;
    })
    .join('\n');
}

export function applyChatTemplate(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
  if (!Array.isArray(messages) || messages.length === 0) throw new ChatTemplateError('messages must be a non-empty list');
  let out = '';
  messages.forEach((m, i) => {
    if (typeof m?.role !== 'string') throw new ChatTemplateError(`messages[${i}].role must be a string`);
    out += `<|im_start|>${m.role}\n${contentText(m, i)}<|im_end|>\n`;
  });
  if (addGenerationPrompt) out += '<|im_start|>assistant\n';
  return out;
}
