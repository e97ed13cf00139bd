export * from './constants.js';
export * from './errors.js';
export * from './checks.js';
export {
  DecodedFrame,
  FrameDecoder,
  type DecodeEvent,
  type DecodeSink,
  type FrameDecoderOptions,
  type IncompleteFrame,
} from './decoder.js';
export * from './encoder.js';
export * from './feedback.js';
export * from './validate.js';
export * from './explain.js';
export { parseHexInput } from './hex.js';
