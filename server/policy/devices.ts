import { Status } from '../../protocol/binary/index.js';
import type { Http2Reason } from '../../protocol/http2/index.js';
import type { DeviceRegistry } from '../registry/index.js';
import type { NotificationContext } from './notification.js';
import type { Verdict } from './verdict.js';

function refused(reason: Http2Reason, explanation: string, timestamp: number | null = null): Verdict {
  return { kind: 'reject', status: Status.InvalidToken, reason, explanation, rule: null, timestamp, delayMs: null, effect: null };
}

/**
 * What the registry says of the token for this topic (or its app) and environment; null when
 * it may be sent. Only HTTP/2 answers for a gone token (410): the binary gateway accepted
 * notifications to uninstalled apps and told of them through the feedback service.
 */
export function deviceRefusal(registry: DeviceRegistry, n: NotificationContext): Verdict | null {
  const env = n.environment;
  if (n.protocol === 'http2') {
    const gone = goneEntry(registry, n);
    if (gone !== null) return gone;
  }
  // An open registry (nothing registered, not strict) takes every token alike: the binary hot
  // path then never makes the token's hex. (HTTP/2 tokens arrive as hex.)
  const token = n.protocol === 'binary' && registry.open ? '' : n.tokenHex;
  if (registry.isValid(token, n.topic, env) || (n.bundle !== n.topic && registry.isValid(token, n.bundle, env))) return null;
  if (n.protocol === 'binary') {
    return refused('BadDeviceToken', `token is not valid for ${n.topic ?? 'this provider'} in ${env ?? 'this environment'}`);
  }
  const registrations = registry.registrations(n.tokenHex);
  if (registrations.length === 0) return refused('BadDeviceToken', 'strict devices: the token is not registered');
  const here = registrations.filter((r) => r.environment === null || r.environment === env);
  if (here.length === 0) {
    return refused('BadDeviceToken', `the token is registered for ${registrations.map((r) => r.environment).join(', ')}, not ${env}`);
  }
  return refused('DeviceTokenNotForTopic', `the token is registered for ${here.map((r) => r.topic).join(', ')}, not ${n.topic}`);
}

/** HTTP/2 410: the newest uninstalled or expired entry of the token in this scope. */
function goneEntry(registry: DeviceRegistry, n: NotificationContext): Verdict | null {
  const inScope = (entry: { topic: string | null; environment: string | null }) =>
    (entry.topic === null || entry.topic === n.topic || entry.topic === n.bundle) &&
    (entry.environment === null || entry.environment === n.environment);
  const gone = registry.goneEntries(n.tokenHex).filter(inScope).pop();
  if (gone === undefined) return null;
  const timestamp = gone.timestamp * 1000;
  const what = gone.reason === 'Unregistered' ? 'was unregistered (app uninstalled)' : 'expired';
  return refused(gone.reason, `the token ${what} at ${new Date(timestamp).toISOString()}`, timestamp);
}
