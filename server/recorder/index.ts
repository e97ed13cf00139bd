export { Recorder, WaitTimeoutError, type RecorderOptions, type RecordStats, type WaitOptions } from './recorder.js';
export { StoredRecord, OUTCOMES, type ConnectionInfo, type FrameRecordInput, type Http2RecordDetails, type NotificationRecord, type Outcome, type Protocol, type RecordInput } from './record.js';
export { compileFilter, type RecordFilter } from './filter.js';
export { normalizeToken } from '../../common/token.js';
export { JsonlSink } from './jsonl.js';
export { RecordsReader, describeSkipped, parseRecords, readRecordsFile, type ReadRecordsOptions, type RecordsFile, type SkippedLine } from './reader.js';
