import type { TLSSocket } from 'node:tls';

/** RFC 9113, 3.4, 4.1, 6.5, 6.8, 7: the client's 24-byte magic, 9-byte frame headers, the frame types and codes used here. */
const CLIENT_MAGIC = 24;
const FRAME_HEADER = 9;
const HEADERS = 0x1;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const ACK = 0x1;
const MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_TIMEOUT = 0x4;
const ENHANCE_YOUR_CALM = 0xb;

/**
 * Bytes a client may send before acknowledging the server's SETTINGS: its SETTINGS and a burst
 * of requests, whose DATA the initial connection window (65,535 bytes) bounds anyway.
 */
export const MAX_BYTES_BEFORE_ACK = 256 * 1024;

/** What the client sent before it acknowledged the server's SETTINGS. */
export interface AnnouncedPreface {
  /** The highest stream the client opened (HEADERS) before its acknowledgement; 0 when none. */
  lastStreamBeforeAck: number;
}

/** The server's connection preface: a SETTINGS frame announcing `maxConcurrentStreams` and nothing else. */
export function settingsFrame(maxConcurrentStreams: number): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER + 6);
  frame.writeUIntBE(6, 0, 3);
  frame[3] = SETTINGS;
  frame.writeUInt16BE(MAX_CONCURRENT_STREAMS, FRAME_HEADER);
  frame.writeUInt32BE(maxConcurrentStreams, FRAME_HEADER + 2);
  return frame;
}

function goAwayFrame(errorCode: number): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER + 8);
  frame.writeUIntBE(8, 0, 3);
  frame[3] = GOAWAY;
  frame.writeUInt32BE(errorCode, FRAME_HEADER + 4);
  return frame;
}

/**
 * Announces `announced` streams to a client before node's HTTP/2 session exists, so the session
 * can run on node's native socket path while the stream limit it enforces is another one.
 *
 * nghttp2 refuses (REFUSED_STREAM) a stream beyond the limit of the last SETTINGS it sent,
 * acknowledged or not, and treats an acknowledgement of a SETTINGS frame it did not send as a
 * connection error. So the one-stream SETTINGS is written here, on the TLS socket, and the
 * client's bytes are read here until its ACK of that frame (RFC 9113, 6.5.3): the ACK is taken
 * out, every other byte (magic, the client's SETTINGS, the streams of a burst) is put back on
 * the socket (`unshift`), where the session's constructor reads it. The session then sends its
 * own SETTINGS (without a stream limit, so nghttp2 refuses nothing itself) and gets its own ACK.
 *
 * Resolves null when the socket closed, or was closed here: no ACK within `timeoutMs` (GOAWAY
 * SETTINGS_TIMEOUT), more than MAX_BYTES_BEFORE_ACK before it (GOAWAY ENHANCE_YOUR_CALM).
 * Bytes that are not an HTTP/2 client's are handed on as they are: the session refuses them.
 */
export function announceSettings(socket: TLSSocket, announced: number, timeoutMs: number): Promise<AnnouncedPreface | null> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    /** Where the next frame header starts in `buffered`. */
    let at = CLIENT_MAGIC;
    let lastStreamBeforeAck = 0;
    let done = false;
    const finish = (result: AnnouncedPreface | null, rest: Buffer | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      if (result === null) {
        resolve(null);
        return;
      }
      socket.pause();
      if (rest !== null && rest.length > 0) socket.unshift(rest);
      resolve(result);
    };
    const fail = (errorCode: number) => {
      if (!socket.destroyed) socket.end(goAwayFrame(errorCode));
      finish(null, null);
      // A client that reads nothing does not get to hold the socket either.
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= at + FRAME_HEADER) {
        const length = buffered.readUIntBE(at, 3);
        const type = buffered[at + 3];
        const flags = buffered[at + 4];
        const streamId = buffered.readUInt32BE(at + 5) & 0x7fffffff;
        if (type === SETTINGS && (flags & ACK) !== 0 && streamId === 0) {
          // The ACK is the client's for the only SETTINGS sent so far: ours.
          const rest = Buffer.concat([buffered.subarray(0, at), buffered.subarray(at + FRAME_HEADER + length)]);
          finish({ lastStreamBeforeAck }, rest);
          return;
        }
        if (buffered.length < at + FRAME_HEADER + length) break;
        if (type === HEADERS && streamId > lastStreamBeforeAck) lastStreamBeforeAck = streamId;
        at += FRAME_HEADER + length;
      }
      if (buffered.length > MAX_BYTES_BEFORE_ACK) fail(ENHANCE_YOUR_CALM);
    };
    const onClose = () => finish(null, null);
    const timer = setTimeout(() => fail(SETTINGS_TIMEOUT), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('close', onClose);
    // A socket whose first bytes were sniffed was paused: a 'data' listener alone does not resume it.
    socket.resume();
    socket.write(settingsFrame(announced));
  });
}
