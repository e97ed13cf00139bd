import type { BinaryProtocolError, Limits } from '../../protocol/binary/index.js';

/** Words for a person: why a malformed frame was refused. */
export function describeFailure(error: BinaryProtocolError, _limits: Limits): string {
  return error.message;
}

/** Words for a person: what was missing when the connection closed inside a frame. */
export function describeIncomplete(bytes: Buffer, _limits: Limits): string {
  return `the connection closed inside a frame after ${bytes.length} byte(s)`;
}
