export { DeviceRegistry, type DeviceRegistration, type GoneToken, type UninstalledToken, type RegistryOptions } from './registry.js';
