// The package's public API: what the README documents, and nothing else. Each folder's own
// index.ts is that folder's API inside the project; tests reach internals by their own paths.

// The simulator, its records and its rules (README: "The library: testing your own sender").
export {
  startSimulator,
  type Http2SimulatorOptions,
  type ProviderCredentials,
  type Simulator,
  type SimulatorOptions,
} from './server/simulator.js';
export { WaitTimeoutError, type WaitOptions } from './server/recorder/recorder.js';
export type { ConnectionInfo, NotificationRecord } from './server/recorder/record.js';
export type { Outcome, RecordFilter } from './server/recorder/fields.js';
export { parseRecords, readRecordsFile, type RecordsFile } from './server/recorder/reader.js';
export { RuleError, type RuleSpec, type Scenario } from './server/rules/index.js';
export type { ApnsEnvironment } from './server/certs/provider.js';
export type { SigningKey } from './server/keys/store.js';

// The senders (README: "The binary client", "The HTTP/2 client", readFeedback).
export * from './client/index.js';

// Errors: every one a user can catch extends ApnsMockError and has a stable `code`.
export { ApnsMockError, InputError } from './common/errors.js';

// The binary codec, for tests that build or read frames by hand (README: "The codec").
export {
  Command,
  FrameDecoder,
  Status,
  encodeErrorResponse,
  encodeNotification,
  explain,
  formatExplanation,
  statusName,
  type Explanation,
  type Notification,
} from './protocol/binary/index.js';
export { HTTP2_REASONS, http2ReasonMeaning, signProviderToken, type Http2Reason } from './protocol/http2/index.js';
