export {
  BinaryClient,
  type BinaryClientEvents,
  type BinaryClientOptions,
  type BinaryClientStats,
  type ClientNotification,
  type ClosedEvent,
  type ConnectedEvent,
  type Enqueued,
  type FlushMode,
  type ResentEvent,
  type SendOptions,
  type TransmittedEvent,
} from './binary-client.js';
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
