export { DeviceRegistry, type DeviceRegistration, type UninstalledToken, type RegistryOptions } from './registry.js';
