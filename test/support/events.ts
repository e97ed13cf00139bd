import {
  DecodedFrame,
  FrameDecoder,
  type DecodeEvent,
  type FrameDecoderOptions,
  type IncompleteFrame,
} from '../../protocol/binary/index.js';

/** A decode event as plain data, copied out while the sink runs (frames are views into the input). */
export type PlainEvent =
  | {
      kind: 'frame';
      command: number;
      identifier: number;
      expiry: number;
      priority: number;
      token: string;
      payloadHex: string;
      payloadLength: number;
      items?: number[];
      streamOffset: number;
      length: number;
    }
  | {
      kind: 'error';
      name: string;
      code: string;
      message: string;
      command: number;
      status: number | null;
      identifier: number;
      field: string;
      streamOffset: number;
      token?: string;
      expiry?: number;
      priority?: number;
    };

export function plain(event: DecodeEvent): PlainEvent {
  if (event instanceof DecodedFrame) {
    const items = [1, 2, 3, 4, 5].filter((id) => event.hasItem(id));
    return {
      kind: 'frame',
      command: event.command,
      identifier: event.identifier,
      expiry: event.expiry,
      priority: event.priority,
      token: event.token.toString('hex'),
      payloadHex: event.payload.toString('hex'),
      payloadLength: event.payload.length,
      ...(event.command === 2 ? { items } : {}),
      streamOffset: event.streamOffset,
      length: event.bytes.length,
    };
  }
  return {
    kind: 'error',
    name: event.name,
    code: event.code,
    message: event.message,
    command: event.command,
    status: event.status,
    identifier: event.identifier,
    field: event.field,
    streamOffset: event.streamOffset,
    ...(event.token ? { token: event.token.toString('hex') } : {}),
    ...(event.expiry !== undefined ? { expiry: event.expiry } : {}),
    ...(event.priority !== undefined ? { priority: event.priority } : {}),
  };
}

export interface DecodeResult {
  events: PlainEvent[];
  incomplete: (Omit<IncompleteFrame, 'bytes'> & { bytes: string }) | null;
  unparsedBytes: number;
}

/** Feeds the chunks to one decoder, one push each, and collects what comes out. */
export function decodeChunks(chunks: readonly Buffer[], options?: FrameDecoderOptions): DecodeResult {
  const decoder = new FrameDecoder(options);
  const events: PlainEvent[] = [];
  for (const chunk of chunks) decoder.push(chunk, (event) => events.push(plain(event)));
  const unparsedBytes = decoder.unparsedBytes;
  const end = decoder.end();
  return { events, incomplete: end && { ...end, bytes: end.bytes.toString('hex') }, unparsedBytes };
}

/** The input cut at the given offsets (sorted, inside the input). */
export function splitAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

export function byteByByte(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
  return chunks;
}
