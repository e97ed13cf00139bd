export { ApnsMockError, InputError } from './errors.js';
export { MAX_DURATION_MS, formatDuration, parseDuration } from './duration.js';
export { MAX_TOKEN_BYTES, isHexToken, normalizeToken, parseDeviceToken } from './token.js';
export { backoffDelay, backoffOf, type Backoff, type ReconnectOptions } from './backoff.js';
export { seededRandom } from './random.js';
