export { BinaryGateway, DEFAULT_FRAME_TIMEOUT_MS, identityOf, peerOf, tlsServerOptions, type ClientAuth, type GatewayOptions, type ProviderListenerOptions, type TlsMaterial } from './gateway.js';
export { GatewaySession, type ConnectionSummary, type SessionState } from './session.js';
export { ProviderListener, remoteOf } from './listener.js';
export { HandshakeTap, TlsAlert, TLS_ALERT_NAMES, type CertificateJudge, type RefusedHandshake } from './handshake-tap.js';
