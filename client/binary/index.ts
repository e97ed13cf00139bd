export { BinaryClient } from './client.js';
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
  SendManyOptions,
  SendOptions,
  TransmittedEvent,
} from './options.js';
export {
  BinaryClientError,
  ClientClosedError,
  FeedbackIncompleteError,
  GatewayUnreachableError,
  HandshakeClosedError,
  NotBinaryGatewayError,
  SilentCloseError,
  type AcceptedOutcome,
  type FailedOutcome,
  type RejectedOutcome,
  type SendOutcome,
} from './outcome.js';
