/** Where `apns-mock serve`'s control API listens unless told otherwise. */
export const DEFAULT_CONTROL_PORT = 2198;
/** A lookup answers at once on this machine; a slow one is not worth holding the sender's output. */
const LOOKUP_TIMEOUT_MS = 1500;

const LOCAL_HOSTS = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

/** Only a gateway on this machine is asked: its control API is the simulator's, not Apple's. */
export const isLocalGateway = (host: string) => LOCAL_HOSTS.has(host) || host.startsWith('127.');

export interface ExplainLookup {
  host: string;
  /** The control API's port (serve's --control-port; its --json line says it). */
  controlPort?: number;
  /** A control token, when serve was given one. */
  controlToken?: string;
}

export interface RejectedNotification {
  identifier: number;
  token: string;
}

/**
 * The simulator's own words for a binary rejection (the 6-byte answer carries only a status):
 * the newest rejected record with this identifier and token, from the control API. Null when
 * the gateway is not local, the control API does not answer, or no such record is kept.
 */
export async function lookUpRejection(where: ExplainLookup, rejected: RejectedNotification): Promise<string | null> {
  if (!isLocalGateway(where.host)) return null;
  const host = where.host.includes(':') && !where.host.startsWith('[') ? `[${where.host}]` : where.host;
  const query = new URLSearchParams({ identifier: String(rejected.identifier), token: rejected.token, outcome: 'rejected' });
  const url = `http://${host}:${where.controlPort ?? DEFAULT_CONTROL_PORT}/records?${query.toString()}`;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json', ...(where.controlToken ? { authorization: `Bearer ${where.controlToken}` } : {}) },
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    });
    if (!response.ok) return null;
    const records = (await response.json()) as { reason?: unknown; rule?: unknown }[];
    const newest = records.at(-1);
    if (newest === undefined || typeof newest.reason !== 'string') return null;
    return typeof newest.rule === 'string' ? `${newest.reason} (rule ${newest.rule})` : newest.reason;
  } catch {
    return null;
  }
}
