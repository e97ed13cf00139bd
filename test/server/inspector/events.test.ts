import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../../protocol/binary/index.js';
import { prefersHtml } from '../../../server/inspector/index.js';
import { startSimulator, type NotificationRecord, type Simulator } from '../../../server/index.js';
import { EventStreamParser, type ServerEvent } from '../../../web/inspector/sse.js';
import { sendFrames } from '../../support/provider-socket.js';

/** expect.poll with room for a loaded CI machine: its default gives up after one second. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });

const TOKEN = 'ab'.repeat(32);
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const frame = (identifier: number) => encodeNotification({ token: TOKEN, payload: { aps: { alert: `n${identifier}` } }, identifier }, 2);

/** An open GET /events: the events parsed so far, and a way to wait for more. */
interface Stream {
  events: ServerEvent[];
  next(event: string, count?: number): Promise<ServerEvent[]>;
  close(): void;
}

async function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events: ServerEvent[] = [];
  const parser = new EventStreamParser();
  const waiters: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body!) {
        parser.push(decoder.decode(chunk, { stream: true }), (e) => events.push(e));
        for (const wake of waiters.splice(0)) wake();
      }
    } catch {
      // Aborted by close().
    }
  })();
  const next = async (event: string, count = 1) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = events.filter((e) => e.event === event);
      if (found.length >= count) return found;
      if (Date.now() > deadline)
        throw new Error(`waited for ${count} '${event}' event(s); got ${JSON.stringify(events.map((e) => e.event))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return { events, next, close: () => controller.abort() };
}

describe('content negotiation on /', () => {
  it('asks for HTML only when text/html is named and preferred to JSON', () => {
    expect(prefersHtml(BROWSER_ACCEPT)).toBe(true);
    expect(prefersHtml('text/html')).toBe(true);
    expect(prefersHtml('application/xhtml+xml')).toBe(true);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('')).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0.5')).toBe(false);
    expect(prefersHtml('text/html;q=0, */*')).toBe(false);
    expect(prefersHtml('application/json;q=0.4, text/html;q=0.6')).toBe(true);
  });
});

describe('the control API for the inspector', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers GET / with the page to a browser and with the JSON index to fetch and curl', async () => {
    for (const accept of [undefined, '*/*', 'application/json']) {
      const response = await fetch(`${sim.controlUrl}/`, { headers: accept ? { accept } : {} });
      expect(response.headers.get('content-type'), String(accept)).toBe('application/json; charset=utf-8');
      const index = (await response.json()) as { name: string; endpoints: string[] };
      expect(index.name).toBe('apns-mock-gateway control API');
      expect(index.endpoints).toContain('GET /events');
    }
    const page = await fetch(`${sim.controlUrl}/`, { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<title>apns-mock inspector</title>');
    expect(html).toContain('<script type="module" src="inspector/inspector.js"></script>');
    // Nothing from another origin: every src and href is local or a data: URL.
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^(?:inspector\/|#|data:)/);
  });

  it('serves the bundle and the style sheet, and nothing else under /inspector/', async () => {
    const script = await fetch(`${sim.controlUrl}/inspector/inspector.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await script.text();
    expect(code).not.toMatch(/from\s*["']node:/);
    // Addresses only in comments (the buffer package's licence), none the page could load.
    expect(code.replace(/\/\*[\s\S]*?\*\//g, '')).not.toMatch(/https?:\/\//);
    const style = await fetch(`${sim.controlUrl}/inspector/inspector.css`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await style.text()).not.toMatch(/url\(|@import|@font-face/);
    for (const path of ['/inspector/main.ts', '/inspector/', '/inspector/..%2Fpackage.json']) {
      const response = await fetch(`${sim.controlUrl}${path}`);
      expect(response.status, path).toBe(404);
    }
  });

  it('streams hello, then each record, the connections opening and closing, and clears', async () => {
    sim.recorder.clear();
    const stream = await openStream(`${sim.controlUrl}/events`);
    const [hello] = await stream.next('hello');
    const facts = JSON.parse(hello.data) as { lastSeq: number; kept: number; replayed: number; connections: unknown[] };
    expect(facts).toMatchObject({ kept: 0, replayed: 0, connections: [] });

    await sendFrames(sim.ports.gateway, sim.credentials, [frame(1), frame(2)], 500);
    const records = (await stream.next('record', 2)).map((e) => ({ id: e.id, record: JSON.parse(e.data) as NotificationRecord }));
    expect(records.map((r) => r.record.identifier)).toEqual([1, 2]);
    expect(records.map((r) => r.id)).toEqual(records.map((r) => String(r.record.seq)));
    expect(records[0].record).toEqual(sim.records()[0]);

    const connection = (await stream.next('connection', 2)).map(
      (e) => JSON.parse(e.data) as { event: string; at: string; connection: { id: number; state: string; protocol: string } },
    );
    expect(connection.map((c) => c.event)).toEqual(['connect', 'disconnect']);
    expect(connection[0].connection.id).toBe(records[0].record.connectionId);
    expect(connection[0].connection.protocol).toBe('binary');
    expect(connection[1].connection.state).toBe('closed');

    await fetch(`${sim.controlUrl}/records`, { method: 'DELETE' });
    const [cleared] = await stream.next('clear');
    expect(JSON.parse(cleared.data)).toEqual({ lastSeq: records[1].record.seq });
    stream.close();
  });

  it('replays the newest kept records first: all after since, at most backlog', async () => {
    sim.recorder.clear();
    await sendFrames(sim.ports.gateway, sim.credentials, [frame(11), frame(12), frame(13)], 500);
    const kept = await sim.waitFor({ identifier: 13 }).then(() => sim.records());
    expect(kept).toHaveLength(3);

    const all = await openStream(`${sim.controlUrl}/events`);
    await all.next('record', 3);
    expect(all.events.map((e) => e.event).filter((e) => e !== 'connection')).toEqual(['hello', 'record', 'record', 'record']);
    all.close();

    const after = await openStream(`${sim.controlUrl}/events?since=${kept[0].seq}&backlog=1`);
    const [hello] = await after.next('hello');
    expect(JSON.parse(hello.data)).toMatchObject({ kept: 3, replayed: 1, omitted: 1 });
    const [only] = await after.next('record');
    expect(JSON.parse(only.data).identifier).toBe(13);
    after.close();

    const resumed = await openStream(`${sim.controlUrl}/events`, { 'last-event-id': String(kept[1].seq) });
    const [next] = await resumed.next('record');
    expect(JSON.parse(next.data).seq).toBe(kept[2].seq);
    resumed.close();

    const tooMany = await fetch(`${sim.controlUrl}/events?backlog=10001`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: string }).error).toBe('query parameter backlog must be at most 10000; got 10001');
  });

  it('lets go of the recorder when the last page goes', async () => {
    // Streams closed by the tests before may take a moment to be noticed.
    await poll(() => sim.recorder.listenerCount('record')).toBe(0);
    const streams = await Promise.all([openStream(`${sim.controlUrl}/events`), openStream(`${sim.controlUrl}/events`)]);
    await Promise.all(streams.map((s) => s.next('hello')));
    expect(sim.recorder.listenerCount('record')).toBe(1);
    for (const s of streams) s.close();
    await poll(() => sim.recorder.listenerCount('record')).toBe(0);
    expect(sim.gateway.listenerCount('connect')).toBe(0);
  });
});

describe('the inspector behind a control token', () => {
  let guarded: Simulator;

  beforeAll(async () => {
    guarded = await startSimulator({ controlToken: 's3cret' });
  });
  afterAll(async () => {
    await guarded.close();
  });

  it('gives out the page and its script without the token, and nothing with data', async () => {
    expect((await fetch(`${guarded.controlUrl}/`, { headers: { accept: BROWSER_ACCEPT } })).status).toBe(200);
    expect((await fetch(`${guarded.controlUrl}/inspector/inspector.js`)).status).toBe(200);
    expect((await fetch(`${guarded.controlUrl}/`)).status).toBe(401);
    expect((await fetch(`${guarded.controlUrl}/events`)).status).toBe(401);
    expect((await fetch(`${guarded.controlUrl}/events?token=s3cret`)).status).toBe(401);
    const stream = await openStream(`${guarded.controlUrl}/events`, { authorization: 'Bearer s3cret' });
    await stream.next('hello');
    stream.close();
  });
});

describe("the page's event-stream parser", () => {
  const STREAM =
    'retry: 2500\r\n: a comment\r\nid: 7\r\nevent: record\r\ndata: {"a":1}\r\n\r\nevent: clear\rdata: one\rdata: two\r\rdata:no space\n\nevent: empty\n\n';
  const EXPECTED: ServerEvent[] = [
    { event: 'record', data: '{"a":1}', id: '7' },
    { event: 'clear', data: 'one\ntwo', id: '7' },
    { event: 'message', data: 'no space', id: '7' },
  ];

  it('reads CRLF, CR and LF lines, comments, several data lines and retry', () => {
    const parser = new EventStreamParser();
    const got: ServerEvent[] = [];
    parser.push(STREAM, (e) => got.push(e));
    expect(got).toEqual(EXPECTED);
    expect(parser.retryMs).toBe(2500);
  });

  it('gives the same events however the text is cut', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      for (const second of [cut, Math.min(STREAM.length, cut + 3)]) {
        const parser = new EventStreamParser();
        const got: ServerEvent[] = [];
        for (const part of [STREAM.slice(0, cut), STREAM.slice(cut, second), STREAM.slice(second)]) parser.push(part, (e) => got.push(e));
        expect(got, `cut at ${cut} and ${second}`).toEqual(EXPECTED);
      }
    }
  });
});
