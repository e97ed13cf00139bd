import { DEFAULT_LIMITS, Priority, Status, statusName, type Limits, type NotificationCommand } from './constants.js';
import { checkLengthsAndPriority, type CheckFailure } from './checks.js';
import type { FrameField } from './errors.js';

export type PayloadWarningCode =
  | 'payload-not-json'
  | 'payload-not-object'
  | 'no-aps'
  | 'content-available-at-priority-10'
  // HTTP/2: a stream held until the connection's first provider token was judged (server/http2/early-streams.ts).
  | 'stream-held-until-token';

/** Something Apple documented as wrong but gave no status for: shown, and rejected only in strict mode. */
export interface PayloadWarning {
  code: PayloadWarningCode;
  message: string;
}

export interface ParsedPayload {
  /** The parsed JSON, or undefined when the payload is not JSON. */
  json: unknown;
  warnings: PayloadWarning[];
}

/**
 * Reads a payload as Apple's rules see it. Not on the gateway's socket path in lenient mode:
 * warnings decide no status there, so the recorder works them out when a record is read.
 */
export function parsePayload(payload: Buffer | Uint8Array, priority: number): ParsedPayload {
  const warnings: PayloadWarning[] = [];
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const message = detail.includes('encoded data') ? 'payload is not valid UTF-8' : `payload is not valid JSON (${detail})`;
    warnings.push({ code: 'payload-not-json', message });
    return { json: undefined, warnings };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    warnings.push({ code: 'payload-not-object', message: 'payload is JSON but not an object' });
    return { json, warnings };
  }
  const aps = (json as Record<string, unknown>).aps;
  if (aps === null || typeof aps !== 'object' || Array.isArray(aps)) {
    warnings.push({ code: 'no-aps', message: 'payload has no "aps" dictionary' });
    return { json, warnings };
  }
  const keys = Object.keys(aps);
  if (priority === Priority.Immediate && keys.length === 1 && keys[0] === 'content-available') {
    warnings.push({
      code: 'content-available-at-priority-10',
      message: 'aps holds only content-available, which Apple forbids at priority 10 (use 5)',
    });
  }
  return { json, warnings };
}

/** In strict mode a payload warning rejects with status 7 (a choice: Apple documented no code). */
export function strictFailure(warnings: readonly PayloadWarning[]): CheckFailure | null {
  if (warnings.length === 0) return null;
  return { status: Status.InvalidPayloadSize, field: 'payload', reason: `strict mode: ${warnings[0].message}` };
}

export interface ValidationOptions {
  limits?: Partial<Limits>;
  /** Reject payload warnings with status 7 instead of only recording them. */
  strict?: boolean;
}

export interface NotificationFields {
  command: NotificationCommand;
  identifier: number;
  token: Buffer | Uint8Array;
  payload: Buffer | Uint8Array;
  priority: number;
}

export type Verdict =
  | { accepted: true; warnings: PayloadWarning[] }
  | {
      accepted: false;
      status: number;
      statusName: string;
      /** The identifier the error response carries (0 for status 2). */
      identifier: number;
      field: FrameField;
      reason: string;
      warnings: PayloadWarning[];
    };

export function rejection(failure: CheckFailure, identifier: number, warnings: PayloadWarning[] = []): Verdict {
  return {
    accepted: false,
    status: failure.status,
    statusName: statusName(failure.status),
    identifier: failure.identifierZero ? 0 : identifier,
    field: failure.field,
    reason: failure.reason,
    warnings,
  };
}

/**
 * Apple's rules for one notification, in the documented order: token length, payload
 * length, priority, then (strict mode only) the payload warnings. Token validity for the
 * environment and topic, and fault rules, are the server's to judge after this.
 */
export function validateNotification(n: NotificationFields, options: ValidationOptions = {}): Verdict {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const failure = checkLengthsAndPriority(n.command, n.token.length, n.payload.length, n.priority, limits);
  if (failure !== null) return rejection(failure, n.identifier);
  const { warnings } = parsePayload(n.payload, n.priority);
  const strict = options.strict ? strictFailure(warnings) : null;
  if (strict !== null) return rejection(strict, n.identifier, warnings);
  return { accepted: true, warnings };
}
