export {
  DeviceRegistry,
  MAX_FEEDBACK_TIMESTAMP,
  parseFeedbackTimestamp,
  type DeviceRegistration,
  type GoneToken,
  type UninstalledToken,
  type RegistryOptions,
} from './registry.js';
