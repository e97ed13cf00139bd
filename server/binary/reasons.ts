import { explain, type BinaryProtocolError, type Limits } from '../../protocol/binary/index.js';

// Only rejected and cut-off frames come here, so the full explanation is affordable; the
// same `explain` serves `apns-mock decode` and the inspector, so every place says the same.

/** The words for flush markers already described, by their 13 bytes and the limits: a sender proving every 1000 sends many. */
const markerWords = new Map<string, string>();
const MARKERS_KEPT = 64;

/** Words for a person: why a malformed frame was refused (with the misalignment diagnosis). */
export function describeFailure(error: BinaryProtocolError, limits: Limits): string {
  if (!isFlushMarker(error.bytes)) return explainFailure(error, limits);
  const key = `${error.bytes.toString('latin1')}${error.status}${JSON.stringify(limits)}`;
  let words = markerWords.get(key);
  if (words === undefined) {
    words = explainFailure(error, limits);
    if (markerWords.size >= MARKERS_KEPT) markerWords.clear();
    markerWords.set(key, words);
  }
  return words;
}

function explainFailure(error: BinaryProtocolError, limits: Limits): string {
  const verdict = explain(error.bytes, { limits }).frames[0]?.verdict;
  const reason = verdict !== undefined && verdict.status === error.status ? verdict.reason : error.message;
  return isFlushMarker(error.bytes)
    ? `${reason} (the flush marker: senders such as Pushy and apns-mock send write it on purpose, and its status-2 reply proves every notification before it accepted)`
    : reason;
}

/** Pushy's flush: command 1 with a token length of 0 and no payload, 13 bytes. */
export function isFlushMarker(bytes: Buffer): boolean {
  return bytes.length === 13 && bytes[0] === 1 && bytes.readUInt16BE(9) === 0 && bytes.readUInt16BE(11) === 0;
}

/** Words for a person: what was missing when the connection closed inside a frame. */
export function describeIncomplete(bytes: Buffer, limits: Limits): string {
  const verdict = explain(bytes, { limits }).frames[0]?.verdict;
  const reason = verdict?.outcome === 'incomplete' ? verdict.reason : `the frame is cut off after ${bytes.length} byte(s)`;
  return `the connection closed inside a frame: ${reason}`;
}

/** Words for a person: a frame that stayed incomplete past the frame timeout. */
export function describeSlow(bytes: Buffer, limits: Limits, timeoutMs: number, waitedMs: number): string {
  const verdict = explain(bytes, { limits }).frames[0]?.verdict;
  const missing = verdict?.outcome === 'incomplete' ? verdict.reason : `the frame is cut off after ${bytes.length} byte(s)`;
  return `slow sender: the frame was still incomplete ${waitedMs} ms after its first bytes (frame timeout ${timeoutMs} ms), so the gateway closed the connection: ${missing}`;
}
