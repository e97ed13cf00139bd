// Apple's HTTP/2 provider API: every reason string a response can carry, with its HTTP status.
// One table; the maps, lists and the binary-protocol equivalents are derived from it.

import { Status } from '../binary/constants.js';

const REASON_TABLE = [
  { reason: 'BadCollapseId', status: 400, meaning: 'The collapse identifier exceeds the maximum allowed size (64 bytes).' },
  { reason: 'BadDeviceToken', status: 400, meaning: 'The specified device token is invalid: malformed, or not for this environment.' },
  { reason: 'BadExpirationDate', status: 400, meaning: 'The apns-expiration value is invalid.' },
  { reason: 'BadMessageId', status: 400, meaning: 'The apns-id value is invalid.' },
  { reason: 'BadPriority', status: 400, meaning: 'The apns-priority value is invalid.' },
  { reason: 'BadTopic', status: 400, meaning: 'The apns-topic value is invalid.' },
  { reason: 'DeviceTokenNotForTopic', status: 400, meaning: "The device token doesn't match the specified topic." },
  { reason: 'DuplicateHeaders', status: 400, meaning: 'One or more headers are repeated.' },
  { reason: 'IdleTimeout', status: 400, meaning: 'Idle timeout.' },
  { reason: 'InvalidPushType', status: 400, meaning: 'The apns-push-type value is invalid.' },
  { reason: 'MissingDeviceToken', status: 400, meaning: "The device token isn't specified in the request :path." },
  { reason: 'MissingTopic', status: 400, meaning: "The apns-topic header of the request isn't specified and is required." },
  { reason: 'PayloadEmpty', status: 400, meaning: 'The message payload is empty.' },
  { reason: 'TopicDisallowed', status: 400, meaning: 'Pushing to this topic is not allowed.' },
  { reason: 'BadCertificate', status: 403, meaning: 'The certificate is invalid.' },
  { reason: 'BadCertificateEnvironment', status: 403, meaning: 'The client certificate is for the wrong environment.' },
  { reason: 'ExpiredProviderToken', status: 403, meaning: 'The provider token is stale and a new token should be generated.' },
  { reason: 'Forbidden', status: 403, meaning: 'The specified action is not allowed.' },
  { reason: 'InvalidProviderToken', status: 403, meaning: "The provider token is not valid, or the token signature can't be verified." },
  {
    reason: 'MissingProviderToken',
    status: 403,
    meaning:
      'No provider certificate was used to connect to APNs, and the authorization header is missing or no provider token is specified.',
  },
  { reason: 'UnrelatedKeyIdInToken', status: 403, meaning: 'The key ID in the provider token is unrelated to this connection.' },
  { reason: 'BadEnvironmentKeyIdInToken', status: 403, meaning: "The key ID in the provider token doesn't match the environment." },
  { reason: 'BadPath', status: 404, meaning: 'The request contained an invalid :path value.' },
  { reason: 'MethodNotAllowed', status: 405, meaning: "The specified :method value isn't POST." },
  { reason: 'ExpiredToken', status: 410, meaning: 'The device token has expired.' },
  { reason: 'Unregistered', status: 410, meaning: 'The device token is inactive for the specified topic.' },
  { reason: 'PayloadTooLarge', status: 413, meaning: 'The message payload is too large.' },
  { reason: 'TooManyProviderTokenUpdates', status: 429, meaning: "The provider's authentication token is being updated too often." },
  { reason: 'TooManyRequests', status: 429, meaning: 'Too many requests were made consecutively to the same device token.' },
  { reason: 'InternalServerError', status: 500, meaning: 'An internal server error occurred.' },
  { reason: 'ServiceUnavailable', status: 503, meaning: 'The service is unavailable.' },
  { reason: 'Shutdown', status: 503, meaning: 'The APNs server is shutting down.' },
  // Broadcast (channel management and /4/broadcasts).
  { reason: 'FeatureNotEnabled', status: 400, meaning: 'The broadcast capability is not enabled for this app.' },
  { reason: 'MissingChannelId', status: 400, meaning: 'The apns-channel-id header is missing.' },
  { reason: 'BadChannelId', status: 400, meaning: 'The apns-channel-id value is malformed.' },
  { reason: 'ChannelNotRegistered', status: 400, meaning: 'The channel does not exist for this app.' },
  { reason: 'BadRequestParams', status: 400, meaning: 'A field of the request body has an invalid value.' },
  { reason: 'BadRequestPayload', status: 400, meaning: 'The request body is not a JSON object.' },
  { reason: 'MissingPushType', status: 400, meaning: 'The push type is missing.' },
  { reason: 'CannotCreateChannelConfig', status: 400, meaning: 'The app has reached its maximum number of channels.' },
  { reason: 'TopicMismatch', status: 403, meaning: 'The bundle id does not match the credentials of the connection.' },
  // Sent by the service though not in Apple's table: a key for the other environment, spelt without "Id"
  // (kylebrowning/APNSwift#229). The simulator sends it when told to (`badEnvironmentKeyReason`).
  { reason: 'BadEnvironmentKeyInToken', status: 403, meaning: "The key in the provider token doesn't match the environment." },
] as const;

export type Http2Reason = (typeof REASON_TABLE)[number]['reason'];

/** Reason strings by name (`Http2Reasons.BadDeviceToken === 'BadDeviceToken'`): typos fail to compile. */
export const Http2Reasons = Object.freeze(Object.fromEntries(REASON_TABLE.map((r) => [r.reason, r.reason]))) as {
  readonly [K in Http2Reason]: K;
};

/** Every reason, in the table's order (device reasons by status, broadcast reasons, then those seen but not documented). */
export const HTTP2_REASONS: readonly Http2Reason[] = Object.freeze(REASON_TABLE.map((r) => r.reason));

/** The reasons of Apple's device-notification table (docs/protocol/http2.md, Response). */
export const DEVICE_REASONS: readonly Http2Reason[] = HTTP2_REASONS.slice(0, HTTP2_REASONS.indexOf('FeatureNotEnabled'));

/** The extra reasons of the broadcast endpoints. */
export const BROADCAST_REASONS: readonly Http2Reason[] = HTTP2_REASONS.slice(
  HTTP2_REASONS.indexOf('FeatureNotEnabled'),
  HTTP2_REASONS.indexOf('BadEnvironmentKeyInToken'),
);

/** Reasons the service was seen sending that Apple's table does not list. */
export const UNDOCUMENTED_REASONS: readonly Http2Reason[] = HTTP2_REASONS.slice(HTTP2_REASONS.indexOf('BadEnvironmentKeyInToken'));

/**
 * A provider key for the other environment: Apple's table says BadEnvironmentKeyIdInToken (the default
 * here), the service was seen sending BadEnvironmentKeyInToken (kylebrowning/APNSwift#229).
 */
export const BAD_ENVIRONMENT_KEY_REASONS = [
  'BadEnvironmentKeyIdInToken',
  'BadEnvironmentKeyInToken',
] as const satisfies readonly Http2Reason[];
export type BadEnvironmentKeyReason = (typeof BAD_ENVIRONMENT_KEY_REASONS)[number];
export const DEFAULT_BAD_ENVIRONMENT_KEY_REASON: BadEnvironmentKeyReason = 'BadEnvironmentKeyIdInToken';

export function isBadEnvironmentKeyReason(value: unknown): value is BadEnvironmentKeyReason {
  return typeof value === 'string' && (BAD_ENVIRONMENT_KEY_REASONS as readonly string[]).includes(value);
}

const byReason = new Map<string, (typeof REASON_TABLE)[number]>(REASON_TABLE.map((r) => [r.reason, r]));

export function isHttp2Reason(value: unknown): value is Http2Reason {
  return typeof value === 'string' && byReason.has(value);
}

/** The HTTP status Apple answers a reason with: `http2StatusOf('Unregistered') === 410`. */
export function http2StatusOf(reason: Http2Reason): number {
  return byReason.get(reason)!.status;
}

/** Apple's wording for a reason. */
export function http2ReasonMeaning(reason: string): string {
  return byReason.get(reason)?.meaning ?? `Undefined reason ${reason}`;
}

/** A refusal: the response's status and the `reason` of its JSON body, with words for a person. */
export interface Http2Rejection {
  status: number;
  reason: Http2Reason;
  /** Why, in words (kept in the record; never sent). */
  message: string;
}

export function http2Rejection(reason: Http2Reason, message?: string): Http2Rejection {
  return { status: http2StatusOf(reason), reason, message: message ?? http2ReasonMeaning(reason) };
}

// The two protocols share the rules: a rule written with a binary status acts on HTTP/2 with the
// nearest reason, and one written with a reason acts on the binary gateway with the nearest status.
const REASON_BY_BINARY_STATUS: Readonly<Record<number, Http2Reason>> = {
  [Status.ProcessingError]: 'InternalServerError',
  [Status.MissingDeviceToken]: 'MissingDeviceToken',
  [Status.MissingTopic]: 'MissingTopic',
  [Status.MissingPayload]: 'PayloadEmpty',
  [Status.InvalidTokenSize]: 'BadDeviceToken',
  [Status.InvalidTopicSize]: 'BadTopic',
  [Status.InvalidPayloadSize]: 'PayloadTooLarge',
  [Status.InvalidToken]: 'BadDeviceToken',
  [Status.Shutdown]: 'Shutdown',
};

const BINARY_STATUS_BY_REASON: Partial<Record<Http2Reason, number>> = {
  MissingDeviceToken: Status.MissingDeviceToken,
  MissingTopic: Status.MissingTopic,
  PayloadEmpty: Status.MissingPayload,
  BadTopic: Status.InvalidTopicSize,
  PayloadTooLarge: Status.InvalidPayloadSize,
  BadDeviceToken: Status.InvalidToken,
  DeviceTokenNotForTopic: Status.InvalidToken,
  Unregistered: Status.InvalidToken,
  ExpiredToken: Status.InvalidToken,
  Shutdown: Status.Shutdown,
};

/** The HTTP/2 reason closest to a binary status byte (InternalServerError for the rest). */
export function reasonForBinaryStatus(status: number): Http2Reason {
  return REASON_BY_BINARY_STATUS[status] ?? 'InternalServerError';
}

/** The binary status byte closest to an HTTP/2 reason (ProcessingError for the rest). */
export function binaryStatusForReason(reason: Http2Reason): number {
  return BINARY_STATUS_BY_REASON[reason] ?? Status.ProcessingError;
}
