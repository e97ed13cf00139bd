export { BinaryGateway, DEFAULT_FRAME_TIMEOUT_MS, type GatewayOptions } from './gateway.js';
export { GatewaySession, type ConnectionSummary, type SessionState } from './connection.js';
