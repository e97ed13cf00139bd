export * from './binary/index.js';
export * from './feedback/index.js';
export * from './http2/index.js';
export { APPLE_HOSTS, type AppleEnvironment, type EndpointOptions } from './shared/hosts.js';
export type { ReconnectOptions } from '../common/backoff.js';
export type { TlsCredentials } from './shared/tls.js';
