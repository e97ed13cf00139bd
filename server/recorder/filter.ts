import { normalizeToken } from '../../common/token.js';
import type { Outcome, StoredRecord } from './record.js';

/** Which records a list, a wait or an assertion is about; every given field must match. */
export interface RecordFilter {
  /** Hex; spaces and case are ignored. */
  token?: string;
  outcome?: Outcome | Outcome[];
  topic?: string;
  /** Records after this sequence number. */
  since?: number;
  connectionId?: number;
  identifier?: number;
  status?: number;
  command?: number;
  protocol?: 'binary' | 'http2';
  /** HTTP/2: the apns-id sent in the response. */
  apnsId?: string;
}


export function compileFilter(filter: RecordFilter = {}): (record: StoredRecord) => boolean {
  const token = filter.token === undefined ? undefined : normalizeToken(filter.token);
  const outcomes = filter.outcome === undefined ? undefined : new Set(Array.isArray(filter.outcome) ? filter.outcome : [filter.outcome]);
  return (r) =>
    (token === undefined || r.tokenHex === token) &&
    (outcomes === undefined || outcomes.has(r.outcome)) &&
    (filter.topic === undefined || r.topic === filter.topic) &&
    (filter.since === undefined || r.seq > filter.since) &&
    (filter.connectionId === undefined || r.connection.id === filter.connectionId) &&
    (filter.identifier === undefined || r.identifier === filter.identifier) &&
    (filter.status === undefined || r.status === filter.status) &&
    (filter.command === undefined || r.command === filter.command) &&
    (filter.protocol === undefined || r.connection.protocol === filter.protocol) &&
    (filter.apnsId === undefined || r.http2?.apnsId === filter.apnsId);
}
