export { identityOf, peerOf, remoteOf } from './identity.js';
export { ProviderListener, tlsServerOptions, type ClientAuth, type ProviderListenerOptions, type TlsMaterial } from './listener.js';
export { HandshakeTap, TlsAlert, TLS_ALERT_NAMES, type CertificateJudge, type RefusedHandshake } from './handshake-tap.js';
export {
  RefusalLog,
  certificateFacts,
  trustedCaFacts,
  trustedCasOf,
  watchRefusals,
  DEFAULT_REFUSALS_KEPT,
  type CertificateFacts,
  type RefusalFacts,
  type RefusalReason,
  type RefusedConnection,
  type RefusingService,
  type TrustedCa,
} from './refusals.js';
