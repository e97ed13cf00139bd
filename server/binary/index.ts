export { BinaryGateway, DEFAULT_FRAME_TIMEOUT_MS, type GatewayOptions } from './gateway.js';
export { BinaryConnection, type BinaryConnectionOptions, type BinaryConnectionState, type BinaryConnectionSummary } from './connection.js';
export { FrameNotification } from './notification.js';
