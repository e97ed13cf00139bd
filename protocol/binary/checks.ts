import { Command, Priority, Status, TOKEN_LENGTH, payloadLimitFor, type Limits } from './constants.js';
import type { FrameField } from './errors.js';

/** Why Apple's rules refuse a notification: the status byte, the field, and words for a person. */
export interface CheckFailure {
  status: number;
  field: FrameField;
  reason: string;
  /** Status 2 is answered with identifier 0 whatever the frame carried (seen from Apple). */
  identifierZero?: boolean;
}

const commandLabel = (command: number) => `command ${command}`;

export function checkTokenLength(tokenLength: number): CheckFailure | null {
  if (tokenLength === TOKEN_LENGTH) return null;
  if (tokenLength === 0) {
    return { status: Status.MissingDeviceToken, field: 'tokenLength', reason: 'token length is 0: no device token', identifierZero: true };
  }
  return {
    status: Status.InvalidTokenSize,
    field: 'tokenLength',
    reason: `token length is ${tokenLength}; a device token is ${TOKEN_LENGTH} bytes`,
  };
}

export function checkPayloadLength(command: number, payloadLength: number, limits: Limits): CheckFailure | null {
  if (payloadLength === 0) {
    return { status: Status.MissingPayload, field: 'payloadLength', reason: 'payload length is 0: no payload' };
  }
  const limit = payloadLimitFor(command, limits);
  if (payloadLength > limit) {
    return {
      status: Status.InvalidPayloadSize,
      field: 'payloadLength',
      reason: `payload is ${payloadLength} bytes; ${commandLabel(command)} allows ${limit}`,
    };
  }
  return null;
}

export function checkPriority(priority: number): CheckFailure | null {
  if (priority === Priority.Immediate || priority === Priority.PowerConserving) return null;
  return {
    status: Status.ProtocolError,
    field: 'priority',
    reason: `priority is ${priority}; only 10 (immediate) and 5 (power-conserving) exist`,
  };
}

/** The gateway's intrinsic checks in the documented order: token length, payload length, priority. */
export function checkLengthsAndPriority(
  command: number,
  tokenLength: number,
  payloadLength: number,
  priority: number,
  limits: Limits,
): CheckFailure | null {
  return (
    checkTokenLength(tokenLength) ??
    checkPayloadLength(command, payloadLength, limits) ??
    (command === Command.Frame ? checkPriority(priority) : null)
  );
}
