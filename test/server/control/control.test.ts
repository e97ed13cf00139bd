import type { TLSSocket } from 'node:tls';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Status, decodeErrorResponse, encodeEnhanced, encodeNotification, encodeErrorResponse } from '../../../protocol/binary/index.js';
import { startSimulator, type NotificationRecord, type RecordInput, type Simulator } from '../../../server/index.js';
import { connectProvider } from '../../support/provider-connection.js';
import { openProvider, sendFrames } from '../../support/provider-socket.js';
import { useSimulator } from '../../support/simulator.js';

const TOKEN = 'aa'.repeat(32);
const OTHER = 'bb'.repeat(32);
const THIRD = 'cc'.repeat(32);
const PAYLOAD = { aps: { alert: 'hello' } };

let sim: Simulator;
const frame = (identifier: number, token = TOKEN, payload: object | string = PAYLOAD) =>
  encodeNotification({ token, payload, identifier }, 2);

interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(`${sim.controlUrl}${path}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
  return { status: response.status, body: parsed as T, headers: response.headers };
}
const get = <T = any>(path: string) => call<T>('GET', path);
const post = <T = any>(path: string, body?: unknown) => call<T>('POST', path, body);
const del = <T = any>(path: string) => call<T>('DELETE', path);

const provider = (credentials = sim.credentials) => connectProvider(sim.ports.gateway, credentials);

/**
 * The connection id the gateway gave this socket (its peer is our local port). With TLS 1.3
 * the client's handshake ends before the server's, so the connection may be listed a moment later.
 */
async function connectionIdOf(socket: TLSSocket): Promise<number> {
  const peer = `127.0.0.1:${socket.localPort}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const { body } = await get<{ id: number; peer: string }[]>('/connections');
    const mine = body.find((c) => c.peer === peer);
    if (mine) return mine.id;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`GET /connections never listed ${peer}`);
}

const ids = (records: NotificationRecord[]) => records.map((r) => r.identifier);

/** A record as the gateway would make it, given straight to the recorder (many, quickly). */
const syntheticInput = (i: number): RecordInput => {
  const bytes = frame(1000 + i);
  return {
    connection: { id: 999, protocol: 'binary', peer: '127.0.0.1:1', topic: 'com.example.app', environment: 'development' },
    command: 2,
    identifier: 1000 + i,
    bytes,
    outcome: 'accepted',
  };
};

useSimulator({ resetEach: true }, (started) => (sim = started));

describe('GET /records and its filters', () => {
  let first: NotificationRecord[];
  let connectionA: number;
  let other: Awaited<ReturnType<Simulator['createCredentials']>>;

  beforeAll(async () => {
    other = await sim.createCredentials('com.other.app');
  });

  beforeEach(async () => {
    // Connection A: 1 and 2 accepted, 3 (empty payload) rejected with status 4, 4 discarded after it.
    const a = await sendFrames(
      sim.ports.gateway,
      sim.credentials,
      Buffer.concat([frame(1), frame(2, OTHER), encodeEnhanced({ token: TOKEN, payload: '', identifier: 3 }), frame(4, OTHER)]),
    );
    expect(decodeErrorResponse(a.received)).toEqual({ status: Status.MissingPayload, identifier: 3 });
    // Connection B, another topic: 5 accepted.
    const b = await openProvider(sim.ports.gateway, other);
    b.write(frame(5));
    first = await sim.waitFor({}, { count: 5 });
    b.destroy();
    connectionA = first[0].connectionId;
  });

  it('lists every record as JSON, the same as the library sees them', async () => {
    const { status, body, headers } = await get<NotificationRecord[]>('/records');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toEqual(sim.records());
    expect(body.map((r) => [r.identifier, r.outcome, r.status, r.topic])).toEqual([
      [1, 'accepted', null, 'com.example.app'],
      [2, 'accepted', null, 'com.example.app'],
      [3, 'rejected', Status.MissingPayload, 'com.example.app'],
      [4, 'discarded', null, 'com.example.app'],
      [5, 'accepted', null, 'com.other.app'],
    ]);
  });

  const cases: [string, () => string, number[]][] = [
    ['token', () => `token=${TOKEN}`, [1, 3, 5]],
    [
      'token with spaces and capitals',
      () =>
        `token=${encodeURIComponent(
          OTHER.toUpperCase()
            .replace(/(.{8})/g, '$1 ')
            .trim(),
        )}`,
      [2, 4],
    ],
    ['one outcome', () => 'outcome=accepted', [1, 2, 5]],
    ['outcomes, comma-separated', () => 'outcome=rejected,discarded', [3, 4]],
    ['outcomes, repeated', () => 'outcome=accepted&outcome=discarded', [1, 2, 4, 5]],
    ['topic', () => 'topic=com.other.app', [5]],
    ['since a sequence number', () => `since=${first[1].seq}`, [3, 4, 5]],
    ['connection', () => `connection=${connectionA}`, [1, 2, 3, 4]],
    ['identifier', () => 'identifier=3', [3]],
    ['status', () => `status=${Status.MissingPayload}`, [3]],
    ['limit (the oldest first)', () => 'limit=2', [1, 2]],
    ['several at once', () => `token=${TOKEN}&outcome=accepted&limit=1`, [1]],
    ['protocol', () => 'protocol=binary', [1, 2, 3, 4, 5]],
    ['a filter nothing matches', () => 'identifier=99', []],
  ];
  for (const [name, query, expected] of cases) {
    it(`filters by ${name}`, async () => {
      const { status, body } = await get<NotificationRecord[]>(`/records?${query()}`);
      expect(status).toBe(200);
      expect(ids(body)).toEqual(expected);
    });
  }

  const bad: [string, RegExp][] = [
    ['token=zz', /token must be hex/],
    ['outcome=lost', /outcome must be one of accepted, rejected, discarded, incomplete; got "lost"/],
    ['limit=0', /limit must be an integer >= 1/],
    ['since=-1', /since must be an integer >= 0/],
    ['identifier=one', /identifier must be an integer/],
    ['connection=1.5', /connection must be an integer/],
    ['status=x', /status must be an integer/],
    ['protocol=spdy', /protocol must be binary or http2; got "spdy"/],
  ];
  for (const [query, message] of bad) {
    it(`refuses ${query} with 400 and says why`, async () => {
      const { status, body } = await get(`/records?${query}`);
      expect(status).toBe(400);
      expect(body.error).toMatch(message);
    });
  }

  it('GET /records.jsonl gives one JSON line per record, filtered the same way', async () => {
    const all = await get<string>('/records.jsonl');
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('application/x-ndjson');
    expect(all.body.endsWith('\n')).toBe(true);
    const lines = all.body.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(sim.records());
    const accepted = await get<string>('/records.jsonl?outcome=accepted');
    expect(
      accepted.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).identifier),
    ).toEqual([1, 2, 5]);
    const none = await get<string>('/records.jsonl?identifier=99');
    expect(none.body).toBe('');
  });

  it('GET /records pages: a bare array, the cursor of the next page in X-Next-Since and Link, none on the last', async () => {
    const pages: (number | null)[][] = [];
    const links: (string | null)[] = [];
    let path: string | null = '/records?outcome=accepted,rejected,discarded&limit=2';
    while (path !== null) {
      const reply: Reply<NotificationRecord[]> = await get<NotificationRecord[]>(path);
      expect(reply.status).toBe(200);
      pages.push(ids(reply.body));
      const next = reply.headers.get('x-next-since');
      links.push(reply.headers.get('link'));
      if (next === null) {
        path = null;
        continue;
      }
      expect(Number(next)).toBe(reply.body[reply.body.length - 1].seq);
      expect(reply.headers.get('link')).toBe(`</records?outcome=accepted%2Crejected%2Cdiscarded&limit=2&since=${next}>; rel="next"`);
      path = /^<([^>]+)>/.exec(reply.headers.get('link')!)![1];
    }
    expect(pages).toEqual([[1, 2], [3, 4], [5]]);
    expect(links[2]).toBeNull();
  });

  it('GET /records answers at most 1000 records when no limit is given, and at most 10000 when asked', async () => {
    for (let i = 0; i < 1500; i++) sim.recorder.add(syntheticInput(i));
    const page = await get<NotificationRecord[]>('/records');
    expect(page.body.length).toBe(1000);
    expect(Number(page.headers.get('x-next-since'))).toBe(page.body[999].seq);
    const rest = await get<NotificationRecord[]>(`/records?since=${page.headers.get('x-next-since')}&limit=10000`);
    expect(rest.body.length).toBe(505);
    expect(rest.headers.get('x-next-since')).toBeNull();
    const tooMany = await get('/records?limit=10001');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toBe('query parameter limit must be at most 10000; got 10001');
    // The JSON Lines download is not paged: every record kept.
    const lines = await get<string>('/records.jsonl');
    expect(lines.body.trimEnd().split('\n').length).toBe(1505);
  });

  it('DELETE /records clears them; the totals in /stats remain', async () => {
    const cleared = await del('/records');
    expect(cleared).toMatchObject({ status: 200, body: { cleared: true } });
    expect((await get('/records')).body).toEqual([]);
    const stats = await get('/stats');
    expect(stats.body.records).toMatchObject({ kept: 0, total: expect.any(Number) });
    expect(stats.body.records.total).toBeGreaterThanOrEqual(5);
  });
});

describe('GET /records/wait', () => {
  it('answers once enough records match, including ones that arrive while it waits', async () => {
    await sendFrames(sim.ports.gateway, sim.credentials, frame(1), 200);
    await sim.waitFor({ identifier: 1 });
    const waiting = get<NotificationRecord[]>(`/records/wait?token=${OTHER}&count=2&timeout=5s`);
    await new Promise((r) => setTimeout(r, 100));
    expect(sim.records({ token: OTHER })).toEqual([]);
    await sendFrames(sim.ports.gateway, sim.credentials, [frame(2, OTHER), frame(3), frame(4, OTHER)], 200);
    const { status, body } = await waiting;
    expect(status).toBe(200);
    expect(ids(body)).toEqual([2, 4]);
  });

  it('answers at once when the records are there already', async () => {
    await sendFrames(sim.ports.gateway, sim.credentials, [frame(1), frame(2)], 200);
    await sim.waitFor({}, { count: 2 });
    const { status, body } = await get<NotificationRecord[]>('/records/wait?count=2&timeout=50');
    expect(status).toBe(200);
    expect(ids(body)).toEqual([1, 2]);
  });

  it('times out with 408, what matched and what was there', async () => {
    await sendFrames(sim.ports.gateway, sim.credentials, [frame(1), frame(2, OTHER)], 200);
    await sim.waitFor({}, { count: 2 });
    const { status, body } = await get(`/records/wait?token=${TOKEN}&count=3&timeout=200ms`);
    expect(status).toBe(408);
    expect(body.error).toMatch(/waited 200 ms for 3 record\(s\).*1 matched/);
    expect(ids(body.matched)).toEqual([1]);
    expect(ids(body.records)).toEqual([1, 2]);
  });

  it('on a timeout shows the newest 50 records, not the oldest', async () => {
    await sendFrames(
      sim.ports.gateway,
      sim.credentials,
      Array.from({ length: 60 }, (_, i) => frame(i + 1)),
      200,
    );
    await sim.waitFor({}, { count: 60 });
    const { status, body } = await get('/records/wait?count=61&timeout=50');
    expect(status).toBe(408);
    expect(ids(body.records)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
  });

  it('refuses a timeout that is not a duration', async () => {
    const { status, body } = await get('/records/wait?timeout=soon');
    expect(status).toBe(400);
    expect(body.error).toMatch(/timeout must be a duration such as 500ms, 5s, 2m or 2h; got "soon"/);
  });
});

describe('connections', () => {
  it('GET /connections lists the open ones with their counts', async () => {
    const p = await provider();
    p.socket.write(Buffer.concat([frame(7), frame(8)]));
    await sim.waitFor({}, { count: 2 });
    const id = await connectionIdOf(p.socket);
    const { body } = await get('/connections');
    expect(body.find((c: { id: number }) => c.id === id)).toMatchObject({
      id,
      protocol: 'binary',
      topic: 'com.example.app',
      environment: 'development',
      state: 'open',
      notifications: 2,
      accepted: 2,
      lastAcceptedIdentifier: 8,
      bytesReceived: frame(7).length + frame(8).length,
    });
    p.socket.destroy();
  });

  it('POST /connections/:id/shutdown sends status 10 with the last accepted identifier to that connection only', async () => {
    const a = await provider();
    const b = await provider();
    a.socket.write(Buffer.concat([frame(41), frame(42)]));
    b.socket.write(frame(77));
    await sim.waitFor({ outcome: 'accepted' }, { count: 3 });
    const idA = await connectionIdOf(a.socket);
    const idB = await connectionIdOf(b.socket);

    const one = await post(`/connections/${idA}/shutdown`);
    expect(one).toMatchObject({ status: 200, body: { shutdown: 1 } });
    await a.closed;
    expect(a.received()).toEqual(encodeErrorResponse(Status.Shutdown, 42));
    expect(await b.closedWithin(200)).toBe(false);

    const all = await post('/connections/shutdown');
    expect(all).toMatchObject({ status: 200, body: { shutdown: 1 } });
    await b.closed;
    expect(b.received()).toEqual(encodeErrorResponse(Status.Shutdown, 77));
    // The gateway forgets a connection once the peer's close reaches it.
    await expect.poll(async () => (await get('/connections')).body.filter((c: { id: number }) => c.id === idA || c.id === idB)).toEqual([]);
  });

  it('shutdown of a connection that accepted nothing carries identifier 0; later frames are discarded', async () => {
    const p = await provider();
    const id = await connectionIdOf(p.socket);
    expect((await post('/connections/shutdown')).body.shutdown).toBeGreaterThanOrEqual(1);
    await p.closed;
    expect(p.received()).toEqual(encodeErrorResponse(Status.Shutdown, 0));
    expect(id).toBeGreaterThan(0);
  });

  it('POST /connections/:id/shutdown for no such connection is 404', async () => {
    const { status, body } = await post('/connections/999999/shutdown');
    expect(status).toBe(404);
    expect(body.error).toBe('no open connection 999999');
  });
});

describe('rules', () => {
  it('POST /rules adds one rule (201) that the gateway then applies', async () => {
    const { status, body } = await post('/rules', { id: 'bad-token', match: { token: OTHER }, action: { type: 'reject', status: 8 } });
    expect(status).toBe(201);
    expect(body).toMatchObject({ id: 'bad-token', match: { token: OTHER }, action: { type: 'reject', status: 8 }, fired: 0, times: null });
    const result = await sendFrames(sim.ports.gateway, sim.credentials, [frame(1), frame(2, OTHER)]);
    expect(decodeErrorResponse(result.received)).toEqual({ status: 8, identifier: 2 });
    const [rejected] = await sim.waitFor({ outcome: 'rejected' });
    expect(rejected.rule).toBe('bad-token');
    expect((await get('/rules')).body[0].fired).toBe(1);
  });

  it('POST /rules with an array adds them all, with ids given out in order; GET lists; DELETE one and all', async () => {
    const { status, body } = await post('/rules', [
      { match: { identifier: 5 }, action: { type: 'close' } },
      { description: 'every 3rd', match: { everyNth: 3 }, action: { type: 'shutdown' }, times: 2 },
    ]);
    expect(status).toBe(201);
    expect(body).toHaveLength(2);
    const [a, b] = body as { id: string }[];
    expect(a.id).not.toBe(b.id);
    expect((await get('/rules')).body.map((r: { id: string }) => r.id)).toEqual([a.id, b.id]);

    expect(await del(`/rules/${encodeURIComponent(a.id)}`)).toMatchObject({ status: 200, body: { removed: a.id } });
    expect((await get('/rules')).body.map((r: { id: string; description: string }) => [r.id, r.description])).toEqual([
      [b.id, 'every 3rd'],
    ]);
    const missing = await del(`/rules/${encodeURIComponent(a.id)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe(`no rule "${a.id}"`);

    expect(await del('/rules')).toMatchObject({ status: 200, body: { cleared: true } });
    expect((await get('/rules')).body).toEqual([]);
  });

  const badRules: [string, unknown, RegExp][] = [
    [
      'no action',
      { match: { token: TOKEN } },
      /rule\.action must be an object with "type": one of reject, shutdown, close, delay, stall, drop, uninstall/,
    ],
    ['an unknown action', { action: { type: 'explode' } }, /rule\.action\.type "explode" is not one of reject, shutdown/],
    ['a status over a byte', { action: { type: 'reject', status: 300 } }, /rule\.action\.status must fit in a byte \(0\.\.255\); got 300/],
    ['a reject without status', { action: { type: 'reject' } }, /rule\.action\.status must be an integer >= 0; got undefined/],
    ['an unknown condition', { match: { colour: 'red' }, action: { type: 'close' } }, /rule\.match\.colour is not a known condition/],
    ['a probability over 1', { match: { probability: 2 }, action: { type: 'close' } }, /probability must be a number from 0 to 1/],
    ['nth 0', { match: { nth: 0 }, action: { type: 'close' } }, /rule\.match\.nth must be an integer >= 1; got 0/],
    ['a payloadField without path', { match: { payloadField: { equals: 1 } }, action: { type: 'close' } }, /payloadField must be \{"path"/],
    ['a string', '"close"', /rule must be an object/],
  ];
  for (const [name, rule, message] of badRules) {
    it(`refuses ${name} with 400 and a readable error`, async () => {
      const { status, body } = await post('/rules', rule);
      expect(status).toBe(400);
      expect(body.error).toMatch(message);
      expect((await get('/rules')).body).toEqual([]);
    });
  }

  it('refuses an array with one bad rule as a whole, naming it', async () => {
    const { status, body } = await post('/rules', [{ action: { type: 'close' } }, { action: { type: 'reject', status: -1 } }]);
    expect(status).toBe(400);
    expect(body.error).toMatch(/rules\[1\]\.action\.status must be an integer >= 0; got -1/);
    expect((await get('/rules')).body).toEqual([]);
  });
});

describe('devices, uninstall and feedback', () => {
  it('POST /devices registers one or many; GET lists; DELETE removes; a token registered elsewhere gets status 8', async () => {
    const one = await post('/devices', { token: OTHER, topic: 'com.other.app' });
    expect(one).toMatchObject({ status: 201, body: { token: OTHER, topic: 'com.other.app', environment: null } });
    const many = await post('/devices', [{ token: TOKEN.toUpperCase() }, { token: THIRD, environment: 'production' }]);
    expect(many.status).toBe(201);
    expect(many.body.map((d: { token: string }) => d.token)).toEqual([TOKEN, THIRD]);
    expect((await get('/devices')).body).toEqual([
      { token: OTHER, topic: 'com.other.app', environment: null },
      { token: TOKEN, topic: null, environment: null },
      { token: THIRD, topic: null, environment: 'production' },
    ]);

    const result = await sendFrames(sim.ports.gateway, sim.credentials, [frame(1), frame(2, OTHER)]);
    expect(decodeErrorResponse(result.received)).toEqual({ status: Status.InvalidToken, identifier: 2 });

    expect(await del(`/devices/${OTHER}`)).toMatchObject({ status: 200, body: { removed: OTHER } });
    const again = await del(`/devices/${OTHER}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toBe(`no registered device ${OTHER}`);
    expect((await get('/devices')).body.map((d: { token: string }) => d.token)).toEqual([TOKEN, THIRD]);
  });

  const badDevices: [string, unknown, RegExp][] = [
    ['a token that is not hex', { token: 'not-hex' }, /devices\[0\]: "token" must be hex digits/],
    ['a token of 1 MiB', { token: 'ab'.repeat(512 * 1024 - 16) }, /devices\[0\]: "token" is \d+ bytes; at most 100 are taken/],
    ['a token of 101 bytes', { token: 'ab'.repeat(101) }, /"token" is 101 bytes; at most 100/],
    ['an empty token in brackets', { token: '<>' }, /devices\[0\]: "token" is empty/],
    ['a token with an odd number of digits', { token: 'abc' }, /odd number of hex digits/],
    ['a token that is not a string', { token: 42 }, /"token" must be a hex string/],
    ['an unknown environment', { token: TOKEN, environment: 'staging' }, /"environment" must be "development" or "production"/],
    ['a topic that is not a string', { token: TOKEN, topic: 7 }, /"topic" must be a string/],
    ['a number', 42, /the body must be a JSON object/],
  ];
  for (const [name, body, message] of badDevices) {
    it(`POST /devices refuses ${name} with 400`, async () => {
      const reply = await post('/devices', body);
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatch(message);
      expect(sim.devices.devices()).toEqual([]);
    });
  }

  it('POST /uninstall queues feedback: GET /feedback shows it, the feedback service delivers the tuple once', async () => {
    const queued = await post('/uninstall', {
      token: TOKEN,
      topic: 'com.example.app',
      environment: 'development',
      timestamp: 1_700_000_123,
    });
    expect(queued).toMatchObject({
      status: 201,
      body: { token: TOKEN, topic: 'com.example.app', environment: 'development', timestamp: 1_700_000_123 },
    });
    await post('/feedback', [{ token: OTHER, topic: 'com.other.app', timestamp: 1_700_000_456 }]);
    expect((await get('/feedback')).body.map((t: { token: string }) => t.token)).toEqual([TOKEN, OTHER]);

    const first = await sendFrames(sim.ports.feedback, sim.credentials, []);
    expect(first.closed).toBe(true);
    // u32 timestamp 1700000123 = 0x6553f17b, u16 token length 32, the token.
    expect(first.received.toString('hex')).toBe(`6553f17b0020${TOKEN}`);
    expect((await get('/feedback')).body.map((t: { token: string }) => t.token)).toEqual([OTHER]);
    const second = await sendFrames(sim.ports.feedback, sim.credentials, []);
    expect(second.received.length).toBe(0);
  });

  it('POST /devices and POST /uninstall refuse an array with one bad entry as a whole', async () => {
    const devices = await post('/devices', [{ token: TOKEN }, { token: OTHER, environment: 'staging' }]);
    expect(devices.status).toBe(400);
    expect(devices.body.error).toMatch(/^devices\[1\]: "environment" must be/);
    expect((await get('/devices')).body).toEqual([]);
    const uninstall = await post('/uninstall', [{ token: TOKEN }, { token: 'xyz' }]);
    expect(uninstall.status).toBe(400);
    expect(uninstall.body.error).toMatch(/^uninstall\[1\]: "token" must be hex digits/);
    expect((await get('/feedback')).body).toEqual([]);
  });

  for (const timestamp of [-5, 1e300, 2 ** 32, 1.5, '1700000000']) {
    it(`POST /uninstall refuses the timestamp ${JSON.stringify(timestamp)} with 400 and queues nothing`, async () => {
      const reply = await post('/uninstall', { token: TOKEN, timestamp });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ code: 'ERR_APNS_INPUT' });
      expect(reply.body.error).toMatch(/uninstall\[0\]: "timestamp" must be UNIX seconds \(an integer from 0 to 4294967295\)/);
      expect((await get('/feedback')).body).toEqual([]);
    });
  }

  it('POST /uninstall takes the largest timestamp a feedback tuple holds', async () => {
    expect((await post('/uninstall', { token: TOKEN, timestamp: 2 ** 32 - 1 })).status).toBe(201);
  });

  for (const [name, token] of [
    ['over 65,535 bytes (the feedback tuple cannot hold it)', 'ab'.repeat(70_000)],
    ['of 101 bytes', 'ab'.repeat(101)],
    ['"<>" (empty)', '<>'],
  ] as const) {
    it(`POST /uninstall refuses a token ${name} with 400; feedback still works`, async () => {
      const reply = await post('/uninstall', { token });
      expect(reply.status).toBe(400);
      expect(reply.body.code).toBe('ERR_APNS_INPUT');
      expect((await get('/feedback')).body).toEqual([]);
      const read = await sendFrames(sim.ports.feedback, sim.credentials, []);
      expect(read).toMatchObject({ closed: true });
      expect(read.received.length).toBe(0);
    });
  }

  it('a token of 100 bytes, Apple style with brackets and spaces, is taken and kept as lower-case hex', async () => {
    const spaced = `<${'AB CD '.repeat(50).trim()}>`;
    const reply = await post('/devices', { token: spaced });
    expect(reply.status).toBe(201);
    expect(reply.body.token).toBe('abcd'.repeat(50));
  });
});

describe('stats, health, index', () => {
  it('GET /stats counts records, connections, rules, devices and pending feedback, with the ports', async () => {
    await post('/rules', { match: { token: THIRD }, action: { type: 'close' } });
    await post('/devices', { token: TOKEN });
    await post('/uninstall', { token: OTHER });
    const before = (await get('/stats')).body;
    await sendFrames(sim.ports.gateway, sim.credentials, [
      frame(1),
      encodeEnhanced({ token: TOKEN, payload: '', identifier: 2 }),
      frame(3),
    ]);
    await sim.waitFor({}, { count: 3 });
    const { status, body } = await get('/stats');
    expect(status).toBe(200);
    expect(body.records.accepted - before.records.accepted).toBe(1);
    expect(body.records.rejected - before.records.rejected).toBe(1);
    expect(body.records.discarded - before.records.discarded).toBe(1);
    expect(body.records.kept).toBe(3);
    expect(body.connections.opened - before.connections.opened).toBe(1);
    expect(body).toMatchObject({
      rules: 1,
      devices: 1,
      pendingFeedback: 1,
      gateway: sim.ports.gateway,
      feedback: sim.ports.feedback,
      control: sim.ports.control,
    });
  });

  it('GET /health is ok; GET / names the API and its endpoints', async () => {
    expect(await get('/health')).toMatchObject({ status: 200, body: { ok: true } });
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.body.name).toBe('apns-mock-gateway control API');
    expect(index.body.endpoints).toContain('GET /records/wait');
    expect(index.body.gateway).toBe(sim.ports.gateway);
  });

  it('a trailing slash is the same endpoint', async () => {
    expect((await get('/health/')).body).toEqual({ ok: true });
  });
});

describe('mistakes', () => {
  it('an unknown path is 404 and points at GET /', async () => {
    const { status, body } = await get('/recordz');
    expect(status).toBe(404);
    expect(body.error).toBe('no endpoint /recordz; GET / lists them');
  });

  for (const [method, path] of [
    ['PUT', '/records'],
    ['POST', '/health'],
    ['DELETE', '/connections'],
    ['GET', '/uninstall'],
    ['GET', '/rules/rule-1'],
    ['GET', '/connections/3/shutdown'],
    ['PUT', `/devices/${TOKEN}`],
  ] as const) {
    it(`${method} ${path} is 405`, async () => {
      const { status, body } = await call(method, path);
      expect(status).toBe(405);
      expect(body.error).toBe(`${method} is not allowed on ${path}`);
    });
  }

  it('a body that is not JSON is 400', async () => {
    const { status, body } = await post('/rules', '{"action": ');
    expect(status).toBe(400);
    expect(body.error).toMatch(/^the body is not valid JSON: /);
  });

  it('a missing body is 400', async () => {
    const { status, body } = await call('POST', '/devices');
    expect(status).toBe(400);
    expect(body.error).toBe('a JSON body is required');
  });

  it('a body over 1 MiB is 413', async () => {
    const { status, body } = await post('/rules', `[${'0,'.repeat(600_000)}0]`);
    expect(status).toBe(413);
    expect(body.error).toMatch(/request body over 1048576 bytes/);
    expect(body.code).toBe('ERR_APNS_CONTROL_BODY_TOO_LARGE');
  });

  it('every error is JSON with an error text and a stable code', async () => {
    const cases: [Promise<Reply>, number, string][] = [
      [get('/recordz'), 404, 'ERR_APNS_CONTROL_NOT_FOUND'],
      [call('PUT', '/records'), 405, 'ERR_APNS_CONTROL_METHOD_NOT_ALLOWED'],
      [post('/rules', '{'), 400, 'ERR_APNS_CONTROL_BAD_REQUEST'],
      [post('/rules', { match: {}, action: { type: 'explode' } }), 400, 'ERR_APNS_RULE'],
      [get('/records?limit=0'), 400, 'ERR_APNS_CONTROL_BAD_REQUEST'],
      [get('/records/wait?timeout=soon'), 400, 'ERR_APNS_INPUT'],
    ];
    for (const [reply, status, code] of cases) {
      const { status: got, body, headers } = await reply;
      expect({ got, code: body.code }).toEqual({ got: status, code });
      expect(typeof body.error).toBe('string');
      expect(headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  for (const path of ['/rules/%E0%A4%A', '/keys/%ZZ', '/rules/%']) {
    it(`a malformed %-escape in the path (${path}) is 400, not 500`, async () => {
      const { status, body } = await del(path);
      expect(status).toBe(400);
      expect(body).toMatchObject({ code: 'ERR_APNS_CONTROL_BAD_REQUEST' });
      expect(body.error).toMatch(/malformed %-escape/);
    });
  }

  for (const path of ['/health', '/stats', '/records', '/records.jsonl', '/rules', '/events']) {
    it(`HEAD ${path} answers as GET does, without a body`, async () => {
      const head = await fetch(`${sim.controlUrl}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      const got = await fetch(`${sim.controlUrl}${path}`);
      expect(head.headers.get('content-type')).toBe(got.headers.get('content-type'));
      await got.body?.cancel();
    });
  }

  it('HEAD on a path with no GET is still 405', async () => {
    expect((await fetch(`${sim.controlUrl}/uninstall`, { method: 'HEAD' })).status).toBe(405);
  });

  it('a wait timeout above 10 minutes is 400, not a timer that wraps to 1 ms', async () => {
    for (const timeout of ['36000m', '11m', `${2 ** 31}`]) {
      const { status, body } = await get(`/records/wait?timeout=${timeout}`);
      expect(status).toBe(400);
      expect(body.error).toMatch(/query parameter timeout must be at most 10 min/);
    }
  });
});

describe('the control token', () => {
  it('is required as a bearer token when set: 401 without it or with another', async () => {
    const guarded = await startSimulator({ controlToken: 's3cret' });
    try {
      const at = (path: string, headers: Record<string, string> = {}) => fetch(`${guarded.controlUrl}${path}`, { headers });
      const without = await at('/records');
      expect(without.status).toBe(401);
      expect(((await without.json()) as { error: string }).error).toBe('this control API needs "Authorization: Bearer <control token>"');
      expect((await at('/health', { authorization: 'Bearer wrong' })).status).toBe(401);
      expect((await at('/health', { authorization: 's3cret' })).status).toBe(401);
      const ok = await at('/records', { authorization: 'Bearer s3cret' });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual([]);
    } finally {
      await guarded.close();
    }
  });

  it('is demanded before the control API binds beyond loopback', async () => {
    await expect(startSimulator({ host: '0.0.0.0' })).rejects.toThrow(
      /the control API may bind to 0\.0\.0\.0 only with a control token \(--control-token\)/,
    );
  });
});
