export {
  startSimulator,
  type Http2SimulatorOptions,
  type ProviderCredentials,
  type Simulator,
  type SimulatorOptions,
} from './simulator.js';
export * from './recorder/index.js';
export * from './registry/index.js';
export * from './rules/index.js';
export { Policy, TokenRateLimiter, type ConnectionTally, type NotificationContext, type PolicyOptions } from './policy/index.js';
export * from './binary/index.js';
export * from './tls/index.js';
export * from './feedback/index.js';
export * from './control/index.js';
export * from './certs/index.js';
export * from './http2/index.js';
export * from './keys/index.js';
