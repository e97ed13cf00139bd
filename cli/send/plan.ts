import type { ExplainLookup } from '../shared/explain-lookup.js';
import type { PushType } from '../../protocol/http2/constants.js';

/** What `apns-mock send` was asked to do, checked. */
export interface SendPlan {
  host: string;
  port: number;
  tokens: string[];
  /** JSON text as given, or the aps object built from --alert/--badge/--sound. */
  payload: string | object;
  command: 0 | 1 | 2;
  priority?: number;
  expiry?: number;
  count: number;
  /** Notifications per second; null: as fast as the gateway takes them. */
  rate: number | null;
  flush: 'marker' | 'error-window';
  json: boolean;
  /** Only the summary: no line per notification. */
  quiet: boolean;
  /** Where to look a binary rejection's reason up (the local simulator's control API); null: do not. */
  explain: ExplainLookup | null;
  /** 'http2': Apple's HTTP/2 provider API instead of the binary gateway. */
  protocol: 'binary' | 'http2';
  /** HTTP/2: apns-topic, apns-push-type, apns-collapse-id (priority and expiry become apns-priority and apns-expiration). */
  topic?: string;
  pushType?: PushType;
  collapseId?: string;
}
