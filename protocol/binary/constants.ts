// The legacy APNs binary protocol: one source of truth for every number on the wire.
// Reverse maps and messages are derived from the tables below, never written twice.

export const Command = {
  /** `u8 0` `u16 tokenLen` `token` `u16 payloadLen` `payload` */
  Simple: 0,
  /** `u8 1` `u32 identifier` `u32 expiry` `u16 tokenLen` `token` `u16 payloadLen` `payload` */
  Enhanced: 1,
  /** `u8 2` `u32 frameLen` then items `u8 id` `u16 len` `data` */
  Frame: 2,
  /** `u8 8` `u8 status` `u32 identifier`: the gateway's only reply. */
  ErrorResponse: 8,
} as const;
export type CommandName = keyof typeof Command;
export type NotificationCommand = 0 | 1 | 2;

export const commandName: Readonly<Record<number, CommandName>> = Object.freeze(
  Object.fromEntries(Object.entries(Command).map(([name, code]) => [code, name as CommandName])),
);

export const ItemId = {
  DeviceToken: 1,
  Payload: 2,
  Identifier: 3,
  Expiry: 4,
  Priority: 5,
} as const;
export type ItemName = keyof typeof ItemId;

export const itemName: Readonly<Record<number, ItemName>> = Object.freeze(
  Object.fromEntries(Object.entries(ItemId).map(([name, id]) => [id, name as ItemName])),
);

/** Fixed data lengths of the command-2 items that have one (the token is checked as a token). */
export const FIXED_ITEM_LENGTH: Readonly<Record<number, number>> = Object.freeze({
  [ItemId.Identifier]: 4,
  [ItemId.Expiry]: 4,
  [ItemId.Priority]: 1,
});

export const Priority = { Immediate: 10, PowerConserving: 5 } as const;
export const DEFAULT_PRIORITY = Priority.Immediate;

const STATUS_TABLE = [
  { code: 0, name: 'NoErrors', meaning: 'No errors encountered' },
  { code: 1, name: 'ProcessingError', meaning: 'Processing error' },
  { code: 2, name: 'MissingDeviceToken', meaning: 'Missing device token' },
  { code: 3, name: 'MissingTopic', meaning: 'Missing topic' },
  { code: 4, name: 'MissingPayload', meaning: 'Missing payload' },
  { code: 5, name: 'InvalidTokenSize', meaning: 'Invalid token size' },
  { code: 6, name: 'InvalidTopicSize', meaning: 'Invalid topic size' },
  { code: 7, name: 'InvalidPayloadSize', meaning: 'Invalid payload size' },
  { code: 8, name: 'InvalidToken', meaning: 'Invalid token' },
  { code: 10, name: 'Shutdown', meaning: 'Shutdown' },
  { code: 128, name: 'ProtocolError', meaning: 'Protocol error (could not parse the frame)' },
  { code: 255, name: 'Unknown', meaning: 'None (unknown)' },
] as const;

export type StatusName = (typeof STATUS_TABLE)[number]['name'];
export type StatusCode = (typeof STATUS_TABLE)[number]['code'];

/** Status codes by name: `Status.InvalidToken === 8`. */
export const Status = Object.freeze(Object.fromEntries(STATUS_TABLE.map((s) => [s.name, s.code]))) as {
  readonly [K in StatusName]: Extract<(typeof STATUS_TABLE)[number], { name: K }>['code'];
};

const statusByCode = new Map<number, (typeof STATUS_TABLE)[number]>(STATUS_TABLE.map((s) => [s.code, s]));

export const STATUS_CODES: readonly number[] = Object.freeze(STATUS_TABLE.map((s) => s.code));

export function isKnownStatus(code: number): code is StatusCode {
  return statusByCode.has(code);
}

/** `statusName(8) === 'InvalidToken'`; codes Apple never defined read as `Status<n>`. */
export function statusName(code: number): string {
  return statusByCode.get(code)?.name ?? `Status${code}`;
}

/** Apple's wording for a status code. */
export function statusMeaning(code: number): string {
  return statusByCode.get(code)?.meaning ?? `Undefined status ${code}`;
}

export interface Limits {
  /** Largest payload for commands 0 and 1 (Apple's legacy page: 256). */
  legacyPayload: number;
  /** Largest payload for command 2 (iOS 8 and later: 2048). */
  framePayload: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  legacyPayload: 256,
  framePayload: 2048,
});

/** node-apn allowed 4096 bytes for VoIP pushes; offered as a preset, not a default. */
export const VOIP_PAYLOAD_LIMIT = 4096;

export const TOKEN_LENGTH = 32;
export const ERROR_RESPONSE_LENGTH = 6;
/** `u32 timestamp` `u16 tokenLen`: the fixed part of a feedback tuple. */
export const FEEDBACK_TUPLE_HEADER = 6;

/** Header sizes up to and including the token length field. */
export const SIMPLE_HEADER = 3; // cmd, tokenLen
export const ENHANCED_HEADER = 11; // cmd, identifier, expiry, tokenLen
export const FRAME_HEADER = 5; // cmd, frameLen
export const ITEM_HEADER = 3; // id, len

/**
 * The largest command-2 frame body that can be valid: every item once, the payload at its
 * limit. A declared frame length above it is rejected at the header, never buffered.
 */
export function maxFrameLength(limits: Limits): number {
  return ITEM_HEADER * 5 + TOKEN_LENGTH + limits.framePayload + 4 /* identifier */ + 4 /* expiry */ + 1; /* priority */
}

export function payloadLimitFor(command: number, limits: Limits): number {
  return command === Command.Frame ? limits.framePayload : limits.legacyPayload;
}
