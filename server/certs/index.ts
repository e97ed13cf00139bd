export type { PemPair } from './pem.js';
export { createCertificateAuthority, createServerCertificate, type CertificateAuthorityOptions } from './authority.js';
export { createProviderCertificate, type ApnsEnvironment, type ProviderCertificateOptions } from './provider.js';
export { loadOrCreateState, STATE_FILES, type StateCertificates } from './state.js';
export { writeProviderBundle, DEFAULT_P12_PASSPHRASE, type ProviderBundleOptions, type ProviderBundlePaths } from './bundle.js';
export { providerIdentity, type ProviderIdentity } from './identity.js';
export { OID_APNS_DEVELOPMENT, OID_APNS_PRODUCTION, OID_APNS_TOPICS, OID_USER_ID } from './oids.js';
export {
  CertificateRevocations,
  RevocationError,
  normalizeFingerprint,
  normalizeSerial,
  type RevocationTarget,
  type RevokedCertificate,
} from './revocation.js';
