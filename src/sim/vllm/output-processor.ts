// Turns generated token ids into text and decides when a sequence ends, as
// vLLM's output processor does: the end-of-sequence token (finish_reason
// "stop", stop_reason null), a stop string (text cut before it unless
// include_stop_str_in_output; stop_reason = the string), or max_tokens
// ("length"). Streaming deltas are the new text of each token; unlike vLLM,
// text that later turns out to start a stop string is not held back.
import { EOS_TOKEN_ID, detokenizeOne } from './tokenizer.ts';

export interface Finish {
  reason: 'stop' | 'length';
  stopReason: string | null;
}

export interface TokenOutput {
  delta: string;
  finish?: Finish;
}

export class OutputProcessor {
  text = '';
  readonly tokenIds: number[] = [];
  private readonly longestStop: number;

  constructor(
    private readonly stop: readonly string[],
    private readonly maxTokens: number,
    private readonly ignoreEos: boolean,
    private readonly includeStopStr = false,
  ) {
    this.longestStop = Math.max(0, ...stop.map((s) => s.length));
  }

  push(id: number): TokenOutput {
    this.tokenIds.push(id);
    const before = this.text.length;
    if (id === EOS_TOKEN_ID && !this.ignoreEos) return { delta: '', finish: { reason: 'stop', stopReason: null } };
    this.text += detokenizeOne(id);
    if (this.stop.length > 0) {
      const from = Math.max(0, before - this.longestStop + 1);
      let at = -1;
      let which = '';
      for (const s of this.stop) {
        if (s === '') continue;
        const i = this.text.indexOf(s, from);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          which = s;
        }
      }
      if (at >= 0) {
        this.text = this.text.slice(0, this.includeStopStr ? at + which.length : at);
        return { delta: this.text.slice(before), finish: { reason: 'stop', stopReason: which } };
      }
    }
    const delta = this.text.slice(before);
    if (this.tokenIds.length >= this.maxTokens) return { delta, finish: { reason: 'length', stopReason: null } };
    return { delta };
  }
}
