export { Policy, type PolicyOptions } from './policy.js';
export { ACCEPTED, isEffect, type Effect, type Protocol, type Verdict, type VerdictKind } from './verdict.js';
export type { ConnectionTally, NotificationContext } from './notification.js';
export { deviceRefusal } from './devices.js';
export { TokenRateLimiter } from './rate-limiter.js';
