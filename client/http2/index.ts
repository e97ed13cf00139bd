export { Http2Client } from './client.js';
export {
  APPLE_HTTP2_HOSTS,
  type Http2ClientEvents,
  type Http2ClientOptions,
  type Http2ClientStats,
  type Http2ClosedEvent,
  type Http2ConnectedEvent,
  type Http2EndpointOptions,
  type Http2GoawayEvent,
  type Http2Notification,
  type Http2ResentEvent,
  type Http2SettingsEvent,
  type Http2TransmittedEvent,
} from './options.js';
export {
  Http2StreamError,
  type Http2AcceptedOutcome,
  type Http2FailedOutcome,
  type Http2RejectedOutcome,
  type Http2SendOutcome,
} from './outcome.js';
export { Http2ConnectError } from './not-http2.js';
export type { ProviderTokenOptions } from './provider-token.js';
export { retryVerdict, type RetryOptions, type RetryVerdict } from './retry.js';
