import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../harness/vitest.js';
import { apnsMatchers, formatRecordTable } from '../../harness/vitest.js';
import { encodeEnhanced, encodeNotification } from '../../protocol/binary/index.js';
import { startSimulator, type NotificationRecord, type Simulator } from '../../server/index.js';
import { openProvider, sendFrames } from '../support/provider-socket.js';

const TOKEN = '0123456789abcdef'.repeat(4);
const OTHER = 'bb'.repeat(32);

let sim: Simulator;
let records: NotificationRecord[];
const frame = (identifier: number, payload: object, token = TOKEN) => encodeNotification({ token, payload, identifier }, 2);

/** The message of the assertion error the callback throws. */
function failure(assertion: () => void): string {
  try {
    assertion();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the assertion passed');
}

async function asyncFailure(assertion: () => Promise<unknown>): Promise<string> {
  try {
    await assertion();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the assertion passed');
}

beforeAll(async () => {
  sim = await startSimulator({ controlPort: false });
  sim.rules.add({ match: { token: OTHER }, action: { type: 'reject', status: 8 } });
  await sendFrames(
    sim.ports.gateway,
    sim.credentials,
    Buffer.concat([
      frame(1, { aps: { alert: 'Hello' } }),
      frame(2, { aps: { alert: { title: 'Greeting', body: 'Hello again' }, badge: 3 }, acme: { id: 7 } }),
      frame(3, { aps: { alert: 'Bye' } }, OTHER),
      frame(4, { aps: { alert: 'never judged' } }),
    ]),
  );
  records = await sim.waitFor({}, { count: 4 });
});
afterAll(async () => {
  await sim?.close();
});

describe('toHaveReceived', () => {
  it('passes on an accepted notification by token and alert (a string, or alert.body)', () => {
    expect(sim).toHaveReceived({ token: TOKEN, alert: 'Hello' });
    expect(sim).toHaveReceived({ token: TOKEN.toUpperCase(), alert: 'Hello again' });
    expect(sim).toHaveReceived({ alert: /again$/ });
    expect(sim).toHaveReceived({ alert: expect.stringContaining('again') });
    expect(sim).toHaveReceived({ token: Buffer.from(TOKEN, 'hex') });
    expect(sim).toHaveReceived();
  });

  it('compares the payload as toMatchObject does, and topic, identifier and priority exactly', () => {
    expect(sim).toHaveReceived({ payload: { aps: { badge: 3 }, acme: { id: 7 } } });
    expect(sim).not.toHaveReceived({ payload: { aps: { badge: 4 } } });
    expect(sim).toHaveReceived({ payload: { acme: { id: expect.any(Number) } } });
    expect(sim).toHaveReceived({ topic: 'com.example.app', identifier: 2, priority: 10, protocol: 'binary' });
    expect(sim).not.toHaveReceived({ protocol: 'http2' });
    expect(sim).not.toHaveReceived({ topic: 'com.other.app' });
    expect(sim).not.toHaveReceived({ identifier: 3 });
  });

  it('count means exactly that many', () => {
    expect(sim).toHaveReceived({ token: TOKEN, count: 2 });
    expect(sim).not.toHaveReceived({ token: TOKEN, count: 1 });
    expect(sim).toHaveReceived({ token: OTHER, count: 0 });
  });

  it('fails with a table of what was received, and what each record differs in', () => {
    const message = failure(() => expect(sim).toHaveReceived({ token: TOKEN, alert: 'Goodbye' }));
    expect(message).toContain(
      'toHaveReceived: expected the simulator to have received a notification with token 01234567…89abcdef, alert "Goodbye",',
    );
    expect(message).toContain('but 0 of 4 record(s) match. What it has:');
    const table = message.split('\n').slice(2);
    expect(table[0]).toMatch(/^ {2}seq {2}outcome +token +id {2}status +alert +reason +differs in$/);
    const rows = table.slice(1).map((line) => line.trim().split(/\s{2,}/));
    expect(rows.map((row) => row[6])).toEqual(['-', '-', expect.stringContaining('InvalidToken'), expect.stringMatching(/^discarded: /)]);
    expect(rows.map((row) => [...row.slice(0, 6), row[7]])).toEqual([
      ['1', 'accepted', '01234567…89abcdef', '1', '-', '"Hello"', 'alert'],
      ['2', 'accepted', '01234567…89abcdef', '2', '-', '"Hello again"', 'alert'],
      ['3', 'rejected', 'bbbbbbbb…bbbbbbbb', '3', '8 InvalidToken', '"Bye"', 'outcome, token, alert'],
      ['4', 'discarded', '01234567…89abcdef', '4', '-', '"never judged"', 'outcome, alert'],
    ]);
  });

  it('fails on a wrong count, naming the records that matched', () => {
    const message = failure(() => expect(sim).toHaveReceived({ token: TOKEN, count: 3 }));
    expect(message).toContain('expected the simulator to have received exactly 3 notification(s) with token 01234567…89abcdef,');
    expect(message).toContain('but 2 of 4 record(s) match (seq 1, 2). What it has:');
  });

  it('.not fails with the records that matched', () => {
    const message = failure(() => expect(sim).not.toHaveReceived({ alert: 'Hello' }));
    const lines = message.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'toHaveReceived: expected the simulator not to have received a notification with alert "Hello",',
      'but 1 record(s) match:',
    ]);
    expect(lines.slice(3).map((line) => line.trim().split(/\s{2,}/))).toEqual([
      ['1', 'accepted', '01234567…89abcdef', '1', '-', '"Hello"', '-'],
    ]);
  });

  it('works on anything with records(), and on an array of records', () => {
    expect({ records: () => records }).toHaveReceived({ alert: 'Hello' });
    expect(records).toHaveReceived({ alert: 'Hello' });
    expect([]).not.toHaveReceived();
  });

  it('says what it needs when given something else, or an unknown key', () => {
    expect(() => expect(42).toHaveReceived()).toThrow(
      /need the simulator \(what startSimulator\(\) returns\), anything with records\(\), or an array of records; got number/,
    );
    expect(() => expect(sim).toHaveReceived({ status: 8 } as never)).toThrow(
      /toHaveReceived\(\) does not know status; it takes token, topic, identifier, protocol, count, alert, payload, warnings, markers, priority/,
    );
    expect(() => expect(sim).toHaveReceived({ count: -1 })).toThrow(/count must be a whole number >= 0; got -1/);
  });
});

describe('toHaveRejected and toHaveDiscarded', () => {
  it('toHaveRejected by token, status, identifier and words of the reason', () => {
    expect(sim).toHaveRejected({ token: OTHER, status: 8, identifier: 3 });
    expect(sim).toHaveRejected({ reason: 'InvalidToken injected by rule' });
    expect(sim).toHaveRejected({ reason: /rule-\d+/ });
    expect(sim).not.toHaveRejected({ token: TOKEN });
    expect(sim).toHaveRejected({ count: 1 });
  });

  it('toHaveRejected fails with the table', () => {
    const message = failure(() => expect(sim).toHaveRejected({ token: OTHER, status: 7 }));
    expect(message).toContain('expected the simulator to have rejected a notification with token bbbbbbbb…bbbbbbbb, status 7,');
    const rows = message
      .split('\n')
      .slice(3)
      .map((line) => line.trim().split(/\s{2,}/));
    expect(rows[2]).toEqual([
      '3',
      'rejected',
      'bbbbbbbb…bbbbbbbb',
      '3',
      '8 InvalidToken',
      '"Bye"',
      expect.stringContaining('InvalidToken'),
      'status',
    ]);
    expect(rows[0].at(-1)).toBe('outcome, token, status');
  });

  it('toHaveDiscarded', () => {
    expect(sim).toHaveDiscarded({ identifier: 4 });
    expect(sim).not.toHaveDiscarded({ identifier: 1 });
  });
});

describe('waiting: toEventuallyReceive and toEventuallyReject', () => {
  it('waits for notifications that arrive later', async () => {
    const socket = await openProvider(sim.ports.gateway, sim.credentials);
    const waiting = expect(sim).toEventuallyReceive({ alert: 'late', count: 2 }, { timeout: 5000 });
    setTimeout(() => socket.write(Buffer.concat([frame(10, { aps: { alert: 'late' } }), frame(11, { aps: { alert: 'late' } })])), 100);
    await waiting;
    socket.destroy();
  });

  it('fails after the timeout with the table and how long it waited', async () => {
    const message = await asyncFailure(() => expect(sim).toEventuallyReceive({ alert: 'never sent' }, { timeout: 100 }));
    expect(message).toContain('toEventuallyReceive: expected the simulator to have received a notification with alert "never sent",');
    expect(message).toContain('What it has:');
    expect(message).toMatch(/\(waited 100 ms\)$/);
  });

  it('.not waits the whole time and passes when nothing matching arrives', async () => {
    const start = Date.now();
    await expect(sim).not.toEventuallyReceive({ alert: 'never sent' }, { timeout: 150 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
  });

  it('toEventuallyReject', async () => {
    await sendFrames(sim.ports.gateway, sim.credentials, encodeEnhanced({ token: TOKEN, payload: '', identifier: 20 }), 0);
    await expect(sim).toEventuallyReject({ identifier: 20, status: 4 });
  });
});

describe('exports', () => {
  it('apnsMatchers for expect.extend by hand, and the table formatter', () => {
    expect(Object.keys(apnsMatchers)).toEqual([
      'toHaveReceived',
      'toHaveRejected',
      'toHaveDiscarded',
      'toEventuallyReceive',
      'toEventuallyReject',
    ]);
    expect(formatRecordTable([])).toBe('  (no records)');
    const many = Array.from({ length: 25 }, (_, i) => ({ ...records[0], seq: i + 1 }));
    const lines = formatRecordTable(many).split('\n');
    expect(lines[0]).toBe('  (5 earlier record(s) not shown)');
    expect(lines).toHaveLength(22);
    expect(lines[2].trim().startsWith('6 ')).toBe(true);
  });
});
