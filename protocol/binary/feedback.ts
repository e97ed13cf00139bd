import { FEEDBACK_TUPLE_HEADER } from './constants.js';
import type { FeedbackTuple } from './encoder.js';

/**
 * Reads feedback tuples from a stream that the service writes and then closes. Tuples may
 * be split across chunks; `end()` says how many bytes were left over from a cut tuple.
 */
export class FeedbackDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): FeedbackTuple[] {
    const bytes = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const tuples: FeedbackTuple[] = [];
    let p = 0;
    while (bytes.length - p >= FEEDBACK_TUPLE_HEADER) {
      const tokenLength = bytes.readUInt16BE(p + 4);
      const end = p + FEEDBACK_TUPLE_HEADER + tokenLength;
      if (end > bytes.length) break;
      tuples.push({ timestamp: bytes.readUInt32BE(p), token: Buffer.from(bytes.subarray(p + FEEDBACK_TUPLE_HEADER, end)) });
      p = end;
    }
    this.pending = Buffer.from(bytes.subarray(p));
    return tuples;
  }

  /** Bytes of a tuple that never completed. */
  end(): number {
    const left = this.pending.length;
    this.pending = Buffer.alloc(0);
    return left;
  }
}

export function decodeFeedbackTuples(bytes: Buffer): { tuples: FeedbackTuple[]; leftover: number } {
  const decoder = new FeedbackDecoder();
  const tuples = decoder.push(bytes);
  return { tuples, leftover: decoder.end() };
}
