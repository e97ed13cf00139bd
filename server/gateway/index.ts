export { BinaryGateway, identityOf, peerOf, tlsServerOptions, type ClientAuth, type GatewayOptions, type ProviderListenerOptions, type TlsMaterial } from './gateway.js';
export { GatewaySession, type ConnectionSummary, type SessionState } from './session.js';
