// The limiter belongs to the policy now; server.ts still imports it from here.
export { TokenRateLimiter } from '../policy/index.js';
