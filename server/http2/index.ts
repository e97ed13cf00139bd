export { Http2Gateway, type Http2GatewayOptions, type Http2GatewayStats } from './server.js';
export { Http2Connection, type Http2ConnectionState, type Http2ConnectionSummary, type Http2Policy } from './connection.js';
export { ConnectionAuth, type Authenticated, type AuthMode, type TokenPolicy } from './auth.js';
export { ChannelStore, type Channel } from './channels.js';
export { HTTP2_PREFACE, sniffPreface } from './sniff.js';
