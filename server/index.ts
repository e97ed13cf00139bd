export { startSimulator, type ProviderCredentials, type Simulator, type SimulatorOptions } from './simulator.js';
export * from './recorder/index.js';
export * from './registry/index.js';
export * from './rules/index.js';
export * from './gateway/index.js';
export * from './feedback/index.js';
export * from './control/index.js';
export * from './certs/index.js';
