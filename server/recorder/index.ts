export { Recorder, WaitTimeoutError, type RecorderOptions, type RecordStats, type WaitOptions } from './recorder.js';
export {
  StoredRecord,
  OUTCOMES,
  PROTOCOLS,
  type ConnectionInfo,
  type FrameRecordInput,
  type Http2RecordDetails,
  type NotificationRecord,
  type Outcome,
  type Protocol,
  type RecordInput,
} from './record.js';
export {
  compileFilter,
  compileJsonFilter,
  describeRecordFilter,
  recordFilterFromQuery,
  recordFilterFromText,
  recordFilterToQuery,
  RecordFilterError,
  type FilterWording,
  type RecordFilter,
} from './filter.js';
export { RECORD_FIELDS, RECORD_FILTERS, FILTER_KEYS, paramOf, type FilterKey, type FilterSpec } from './fields.js';
export { normalizeToken } from '../../common/token.js';
export { JsonlSink, RecordFileError, type SinkState } from './jsonl.js';
export {
  RecordsReader,
  describeSkipped,
  parseRecords,
  readRecordsFile,
  type ReadRecordsOptions,
  type RecordsFile,
  type SkippedLine,
} from './reader.js';
