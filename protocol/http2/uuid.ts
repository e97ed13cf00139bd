import { randomFillSync } from 'node:crypto';

/** UUIDs made from one call to the system's random generator. */
const BATCH = 256;
const random = Buffer.allocUnsafeSlow(16 * BATCH);
let used = BATCH;
const text = Buffer.allocUnsafeSlow(36);
const LOWER = Buffer.from('0123456789abcdef', 'latin1');
const UPPER = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * A random (version 4) UUID in canonical form, as crypto.randomUUID() makes it, in upper case
 * when asked (APNs makes its apns-id so). Written character by character into one buffer and
 * read out as one string: randomUUID() joins twenty pieces, and the HTTP/2 API makes an
 * apns-id and an apns-unique-id for most requests, Http2Client an apns-id for each notification.
 */
export function randomUuid(upperCase = false): string {
  if (used === BATCH) {
    randomFillSync(random);
    used = 0;
  }
  const at = 16 * used++;
  const hex = upperCase ? UPPER : LOWER;
  let to = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[to++] = 0x2d;
    let byte = random[at + i];
    // RFC 9562: version 4 in the high nibble of byte 6, variant 0b10 in the high bits of byte 8.
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    text[to++] = hex[byte >> 4];
    text[to++] = hex[byte & 0x0f];
  }
  return text.toString('latin1', 0, 36);
}
