// Numbers and names of Apple's HTTP/2 provider API (docs/protocol/http2.md): one source of truth.

const PUSH_TYPE_TABLE = [
  { type: 'alert', suffix: '' },
  { type: 'background', suffix: '' },
  { type: 'location', suffix: '.location-query' },
  { type: 'voip', suffix: '.voip' },
  { type: 'complication', suffix: '.complication' },
  { type: 'fileprovider', suffix: '.pushkit.fileprovider' },
  { type: 'mdm', suffix: '' },
  { type: 'liveactivity', suffix: '.push-type.liveactivity' },
  { type: 'pushtotalk', suffix: '.voip-ptt' },
  { type: 'widgets', suffix: '.push-type.widgets' },
  { type: 'controls', suffix: '.push-type.controls' },
] as const;

export type PushType = (typeof PUSH_TYPE_TABLE)[number]['type'];

export const PUSH_TYPES: readonly PushType[] = Object.freeze(PUSH_TYPE_TABLE.map((p) => p.type));

/**
 * Push types Apple takes over token-based connections only: "The location push type supports only
 * token-based authentication" (Sending notification requests to APNs); Live Activities likewise
 * (WWDC23, "Update Live Activities with push notifications"). A certificate connection is refused.
 */
export const TOKEN_ONLY_PUSH_TYPES: readonly PushType[] = Object.freeze(['location', 'liveactivity']);

/** The suffix the apns-topic carries after the bundle id for each push type ('' for none). */
export const TOPIC_SUFFIX: Readonly<Record<PushType, string>> = Object.freeze(
  Object.fromEntries(PUSH_TYPE_TABLE.map((p) => [p.type, p.suffix])) as Record<PushType, string>,
);

/** Longest suffixes first, so `.voip-ptt` is not read as `.voip`. */
const SUFFIXES = PUSH_TYPE_TABLE.filter((p) => p.suffix !== '')
  .map((p) => ({ type: p.type, suffix: p.suffix }))
  .sort((a, b) => b.suffix.length - a.suffix.length);

export function isPushType(value: unknown): value is PushType {
  return typeof value === 'string' && (PUSH_TYPES as readonly string[]).includes(value);
}

/** The entry of SUFFIXES a topic ends with (longest first), or undefined for a plain bundle id. */
function suffixOf(topic: string): { type: PushType; suffix: string } | undefined {
  // A plain loop: this runs for every notification, twice.
  for (let i = 0; i < SUFFIXES.length; i++) {
    const s = SUFFIXES[i];
    if (topic.length > s.suffix.length && topic.endsWith(s.suffix)) return s;
  }
  return undefined;
}

/** The push type a topic's suffix names, or null for a plain bundle id. */
export function pushTypeOfTopic(topic: string): PushType | null {
  return suffixOf(topic)?.type ?? null;
}

/** The bundle id of a topic: the topic without its push-type suffix. */
export function bundleOfTopic(topic: string): string {
  const found = suffixOf(topic);
  return found === undefined ? topic : topic.slice(0, -found.suffix.length);
}

export const Http2Priority = { Immediate: 10, PowerConserving: 5, Low: 1 } as const;
export const HTTP2_PRIORITIES: readonly number[] = [10, 5, 1];
export const HTTP2_DEFAULT_PRIORITY = Http2Priority.Immediate;

export interface Http2Limits {
  /** Largest payload of every push type but voip. */
  payload: number;
  /** Largest voip payload. */
  voipPayload: number;
}

export const HTTP2_LIMITS: Readonly<Http2Limits> = Object.freeze({ payload: 4096, voipPayload: 5120 });

export function http2PayloadLimit(pushType: PushType, limits: Http2Limits = HTTP2_LIMITS): number {
  return pushType === 'voip' ? limits.voipPayload : limits.payload;
}

export const COLLAPSE_ID_MAX_BYTES = 64;
/** Device tokens are hex; 32 bytes for years, and Apple warns they may grow: up to 100 bytes are read. */
export const DEVICE_TOKEN_MIN_BYTES = 32;
export const DEVICE_TOKEN_MAX_BYTES = 100;

/** Request and response header names. */
export const Http2Header = {
  Authorization: 'authorization',
  PushType: 'apns-push-type',
  Id: 'apns-id',
  UniqueId: 'apns-unique-id',
  Expiration: 'apns-expiration',
  Priority: 'apns-priority',
  Topic: 'apns-topic',
  CollapseId: 'apns-collapse-id',
  ChannelId: 'apns-channel-id',
  RequestId: 'apns-request-id',
} as const;

/** Headers whose repetition Apple refuses with DuplicateHeaders. */
export const SINGLE_HEADERS: readonly string[] = Object.values(Http2Header).filter((h) => h !== 'apns-unique-id');

/** Apple's hosts, and the environment each one serves. */
export const HTTP2_HOSTS = {
  production: 'api.push.apple.com',
  development: 'api.sandbox.push.apple.com',
} as const;

export const HTTP2_DEFAULT_PORT = 2197;

/** One hour: a provider token older than this gets ExpiredProviderToken. */
export const PROVIDER_TOKEN_LIFETIME_MS = 60 * 60_000;
/** A connection may take a new provider token at most once per 20 minutes. */
export const PROVIDER_TOKEN_UPDATE_INTERVAL_MS = 20 * 60_000;
export const KEY_ID_LENGTH = 10;
export const TEAM_ID_LENGTH = 10;

/** SETTINGS_MAX_CONCURRENT_STREAMS after authentication (Apple was seen announcing 500 to 1500). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
/** With token authentication, until the first valid token. */
export const UNAUTHENTICATED_MAX_CONCURRENT_STREAMS = 1;

/** HTTP/2 error codes used in GOAWAY and RST_STREAM (RFC 9113, section 7). */
export const Http2ErrorCode = {
  NoError: 0,
  ProtocolError: 1,
  InternalError: 2,
  RefusedStream: 7,
  Cancel: 8,
  EnhanceYourCalm: 11,
} as const;
