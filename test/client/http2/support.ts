import type { ServerHttp2Stream } from 'node:http2';
import { Http2Client, type Http2ClientOptions, type Http2Notification, type Http2SendOutcome } from '../../../client/index.js';
import type { NotificationRecord, SigningKey, Simulator } from '../../../server/index.js';

export const TOKEN = 'aa'.repeat(32);
export const TEAM = 'TEAM000001';
export const KEY_ID = 'KEY0000001';
export const TOPIC = 'com.example.app';

/** Retries and reconnects a test can wait for. */
const FAST = { retry: { initialDelayMs: 10, maxDelayMs: 100 }, reconnect: { initialDelayMs: 10, maxDelayMs: 100 } } as const;

export function tokenClient(sim: Simulator, key: SigningKey, options: Partial<Http2ClientOptions> = {}): Http2Client {
  return new Http2Client({
    host: '127.0.0.1',
    port: sim.ports.http2!,
    ca: sim.credentials.ca,
    token: { teamId: key.teamId, keyId: key.keyId, key: key.privateKey },
    ...FAST,
    ...options,
  });
}

export function certClient(sim: Simulator, options: Partial<Http2ClientOptions> = {}): Http2Client {
  const { cert, key, ca } = sim.credentials;
  return new Http2Client({ host: '127.0.0.1', port: sim.ports.http2!, cert, key, ca, ...FAST, ...options });
}

/** A notification that says which one it is: records are matched to sends by `seq`. */
export const numbered = (seq: number, token = TOKEN): Http2Notification => ({
  token,
  topic: TOPIC,
  payload: { aps: { alert: `n${seq}` }, seq },
});

export function sendNumbered(client: Http2Client, count: number, token?: (seq: number) => string): Promise<Http2SendOutcome[]> {
  return Promise.all(Array.from({ length: count }, (_, seq) => client.send(numbered(seq, token?.(seq)))));
}

/** The HTTP/2 records of one apns-id. */
export const recordsOf = (sim: Simulator, apnsId: string): NotificationRecord[] => sim.records({ protocol: 'http2', apnsId });

export interface StreamWatch {
  /** The most streams open at once on one connection, as the server saw them. */
  readonly max: number;
  /** Per connection (in order of their first stream): the most streams open at once. */
  readonly perConnection: number[];
  /** How many streams were open on its connection when each stream arrived (1 = alone), in arrival order. */
  readonly openAtArrival: number[][];
  stop(): void;
}

/**
 * Counts streams open at once on each connection, on the server's side: a stream counts from
 * its 'stream' event until its 'close'.
 */
export function watchStreams(sim: Simulator): StreamWatch {
  const server = sim.http2!.server;
  const bySession = new Map<object, { open: number; max: number; arrivals: number[] }>();
  const onStream = (stream: ServerHttp2Stream) => {
    let entry = bySession.get(stream.session!);
    if (entry === undefined) {
      entry = { open: 0, max: 0, arrivals: [] };
      bySession.set(stream.session!, entry);
    }
    const e = entry;
    e.open++;
    e.max = Math.max(e.max, e.open);
    e.arrivals.push(e.open);
    stream.once('close', () => e.open--);
  };
  server.on('stream', onStream);
  return {
    get max() {
      return Math.max(0, ...[...bySession.values()].map((e) => e.max));
    },
    get perConnection() {
      return [...bySession.values()].map((e) => e.max);
    },
    get openAtArrival() {
      return [...bySession.values()].map((e) => e.arrivals);
    },
    stop: () => server.off('stream', onStream),
  };
}

export function tally(outcomes: Http2SendOutcome[]): Record<Http2SendOutcome['status'], number> {
  const t = { accepted: 0, rejected: 0, failed: 0 };
  for (const o of outcomes) t[o.status]++;
  return t;
}
