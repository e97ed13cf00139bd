import { encodeEnhanced, encodeNotification, type Notification } from '../../protocol/binary/index.js';

/** Every bench that sends binary notifications sends frames of exactly this size. */
export const FRAME_SIZE = 160;
/** 400 frames: a 64,000-byte block a sender writes again and again. */
export const BLOCK_FRAMES = 400;
/** Not a notification any real sender has; only the identifier differs from frame to frame. */
const EXPIRY = 1_767_225_600;

/**
 * 160-byte command-2 frames: a 32-byte token, a 103-byte payload, identifier and expiry
 * (node-apn's layout, which leaves out priority 10).
 */
export function notification(i: number): Omit<Notification, 'identifier'> {
  const head = `{"aps":{"alert":"Benchmark notification ${String(i).padStart(6, '0')}","badge":1},"n":"`;
  return { token: Buffer.alloc(32, i & 0xff), payload: `${head}${'x'.repeat(103 - head.length - 2)}"}`, expiry: EXPIRY };
}

const FILLER = 'x'.repeat(103 - '{"aps":{"alert":"Benchmark notification 000000","badge":1},"n":""}'.length);

/** The same notification with its payload as an object, as an application hands it to a sender: JSON.stringify gives the same bytes. */
export function notificationOfObject(i: number): Omit<Notification, 'identifier'> {
  const payload = { aps: { alert: `Benchmark notification ${String(i).padStart(6, '0')}`, badge: 1 }, n: FILLER };
  return { token: Buffer.alloc(32, i & 0xff), payload, expiry: EXPIRY };
}

export const PAYLOAD_SIZE = Buffer.byteLength(notification(0).payload as string);

/** `BLOCK_FRAMES` consecutive frames, identifiers from `first`. */
export function frameBlock(first = 1): Buffer {
  const frames = Array.from({ length: BLOCK_FRAMES }, (_, i) =>
    encodeNotification({ ...notification(first + i), identifier: first + i }, 2),
  );
  for (const f of frames) if (f.length !== FRAME_SIZE) throw new Error(`bench frame is ${f.length} bytes, not ${FRAME_SIZE}`);
  return Buffer.concat(frames);
}

/**
 * Command 1 with a 0-byte token and no payload: the gateway answers status 2 or 5 with
 * identifier 0 and closes, after judging every frame before it (Pushy's flush marker).
 */
export const MARKER = encodeEnhanced({ token: Buffer.alloc(0), payload: Buffer.alloc(0), identifier: 0 });
