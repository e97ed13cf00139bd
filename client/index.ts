export { BinaryClient } from './binary-client.js';
export type {
  BinaryClientEvents,
  BinaryClientOptions,
  BinaryClientStats,
  ClientNotification,
  ClosedEvent,
  ConnectedEvent,
  Enqueued,
  FlushMode,
  ResentEvent,
  SendOptions,
  TransmittedEvent,
} from './options.js';
export { FeedbackClient, readFeedback, type FeedbackClientOptions, type FeedbackEntry } from './feedback-client.js';
export {
  BinaryClientError,
  ClientClosedError,
  FeedbackIncompleteError,
  GatewayUnreachableError,
  SilentCloseError,
  type AcceptedOutcome,
  type FailedOutcome,
  type RejectedOutcome,
  type SendOutcome,
} from './outcome.js';
export { APPLE_HOSTS, type AppleEnvironment, type EndpointOptions } from './hosts.js';
export type { ReconnectOptions } from './backoff.js';
export type { TlsCredentials } from './tls.js';
export * from './http2/index.js';
