// The table of record fields drives the store, the JSON, the filters, the query parser and the
// CLI options: these check each of them takes every field and every filter the table lists.
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeNotification, type DecodedFrame } from '../../../protocol/binary/index.js';
import {
  FILTER_KEYS,
  RECORD_FIELDS,
  RECORD_FILTERS,
  Recorder,
  RecordFilterError,
  compileFilter,
  compileJsonFilter,
  paramOf,
  parseRecords,
  recordFilterFromQuery,
  recordFilterToQuery,
  type ConnectionInfo,
  type FilterKey,
  type Http2RecordDetails,
  type NotificationRecord,
} from '../../../server/recorder/index.js';
import { RECORD_COLUMNS, RECORD_RARE } from '../../../server/recorder/fields.js';
import { optionOf, recordFilterFromOptions } from '../../../cli/shared/filter-options.js';

const binary: ConnectionInfo = { id: 3, protocol: 'binary', peer: '127.0.0.1:1', topic: 'com.example.app', environment: 'development' };
const h2: ConnectionInfo = { id: 4, protocol: 'http2', peer: '127.0.0.1:2', topic: null, environment: 'production' };
const http2: Http2RecordDetails = {
  method: 'POST',
  path: `/3/device/${'cd'.repeat(32)}`,
  authority: 'localhost',
  headers: { 'apns-topic': 'com.example.voip' },
  streamId: 5,
  apnsId: '00000000-0000-4000-8000-0000000000AB',
  apnsUniqueId: null,
  pushType: 'voip',
  collapseId: null,
  channelId: null,
  status: 410,
  reason: 'Unregistered',
  timestamp: 1_650_000_000_000,
  auth: 'token',
  teamId: 'TEAM000001',
  keyId: 'KEY0000001',
};

/** A recorder holding a record of each kind: a rejected binary frame (every column given), an HTTP/2 one, a bare incomplete one. */
function recorded(): Recorder {
  const recorder = new Recorder();
  const bytes = encodeNotification(
    { token: Buffer.alloc(32, 0xab), payload: '{"aps":{"alert":"hi"}}', identifier: 9, expiry: 1_900_000_000, priority: 5 },
    2,
  );
  const frame = FrameDecoder.decodeAll(bytes).events[0] as DecodedFrame;
  recorder.pushFrame({
    connection: binary,
    frame,
    identifier: 9,
    expiry: 1_900_000_000,
    outcome: 'rejected',
    status: 8,
    reason: 'bad token',
    rule: 'r1',
  });
  const body = Buffer.from('{"aps":{"alert":"voip"}}');
  recorder.push({
    connection: h2,
    bytes: body,
    token: Buffer.alloc(32, 0xcd),
    payload: body,
    outcome: 'rejected',
    status: 410,
    topic: 'com.example.voip',
    http2,
  });
  recorder.push({ connection: binary, command: 1, bytes: Buffer.from('01', 'hex'), outcome: 'incomplete' });
  // A sender's flush marker, and a payload that is not JSON.
  recorder.push({
    connection: binary,
    command: 1,
    bytes: Buffer.from('01000000000000000000000000', 'hex'),
    outcome: 'rejected',
    status: 2,
    marker: true,
  });
  const text = Buffer.from('plain text');
  recorder.push({ connection: binary, command: 0, bytes: text, token: Buffer.alloc(32, 0xef), payload: text, outcome: 'accepted' });
  return recorder;
}

describe('the table of record fields', () => {
  it('every column keeps what it was given, and null where nothing was', () => {
    const [frame, request, bare] = recorded().find();
    expect({
      command: frame.command,
      identifier: frame.identifier,
      expiry: frame.expiry,
      priority: frame.priority,
      status: frame.status,
    }).toEqual({
      command: 2,
      identifier: 9,
      expiry: 1_900_000_000,
      priority: 5,
      status: 8,
    });
    expect(request.status).toBe(410);
    for (const name of Object.keys(RECORD_COLUMNS) as (keyof typeof RECORD_COLUMNS)[]) {
      if (name === 'timeMs' || name === 'outcome') expect(bare[name]).not.toBeNull();
      else if (name !== 'command') expect({ name, value: bare[name] }).toEqual({ name, value: null });
    }
    expect([frame.reason, frame.rule, frame.http2]).toEqual(['bad token', 'r1', null]);
    expect(request.http2).toEqual(http2);
    for (const name of Object.keys(RECORD_RARE) as (keyof typeof RECORD_RARE)[])
      expect({ name, value: bare[name] }).toEqual({ name, value: null });
  });

  it('every field round-trips: store, StoredRecord, toJSON, a JSONL line, the reader', () => {
    const stored = recorded().find();
    const json = stored.map((r) => r.toJSON());
    for (const record of json) expect(Object.keys(record)).toEqual(Object.keys(RECORD_FIELDS));
    const { records, skipped } = parseRecords(stored.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(skipped).toEqual([]);
    expect(records).toEqual(json);
    expect(json[0]).toMatchObject({
      protocol: 'binary',
      connectionId: 3,
      topic: 'com.example.app',
      statusName: 'InvalidToken',
      payloadJson: { aps: { alert: 'hi' } },
    });
    expect(json[1]).toMatchObject({
      protocol: 'http2',
      connectionId: 4,
      topic: 'com.example.voip',
      statusName: 'Unregistered',
      token: 'cd'.repeat(32),
    });
    expect(json[2]).toMatchObject({ command: 1, token: null, payload: null, payloadJson: null, warnings: [], bytes: '01' });
  });
});

/** For each filter: a value as a person would type it that chooses the HTTP/2 record (seq 2), and not every record. */
const typed: Record<FilterKey, string> = {
  token: `<${'CD'.repeat(16)} ${'cd'.repeat(16)}>`,
  outcome: 'rejected',
  topic: 'com.example.voip',
  since: '1',
  connectionId: '4',
  identifier: '',
  status: '410',
  command: '',
  priority: '',
  protocol: 'http2',
  apnsId: http2.apnsId.toLowerCase(),
  alert: 'voi',
  reason: '',
  marker: 'false',
  warned: 'false',
};
/** The same for the frame (seq 1), for the filters the HTTP/2 record has no value of. */
const typedForFrame: Partial<Record<FilterKey, string>> = { identifier: '9', command: '2', priority: '5', reason: '/^bad/' };
/** A record's own value for the filters whose field is not the value itself. */
const ownValue: Partial<Record<FilterKey, (record: NotificationRecord) => unknown>> = {
  apnsId: (r) => r.http2!.apnsId,
  since: (r) => r.seq - 1,
  alert: (r) => (r.payloadJson as { aps: { alert: string } }).aps.alert,
  warned: (r) => r.warnings.length > 0,
};

describe('every filter of the table', () => {
  const json = recorded().list();
  for (const key of FILTER_KEYS) {
    const text = typed[key] || typedForFrame[key]!;
    const seq = typed[key] ? 2 : 1;

    it(`${key}: the query parser, the command line and the library agree`, () => {
      const fromQuery = recordFilterFromQuery(new URLSearchParams({ [paramOf(key)]: text }));
      const option = optionOf(paramOf(key));
      const given = RECORD_FILTERS[key].value.option.type === 'number' ? Number(text) : text;
      const fromOptions = recordFilterFromOptions({ [option]: given });
      expect(fromOptions).toEqual(fromQuery);
      expect(Object.keys(fromQuery)).toEqual([key]);
      // Back to a query (what `apns-mock expect` sends) and read again.
      expect(recordFilterFromQuery(recordFilterToQuery(fromQuery))).toEqual(fromQuery);
      const stored = recorded().find();
      expect(stored.filter(compileFilter(fromQuery)).map((r) => r.seq)).toContain(seq);
      expect(stored.filter(compileFilter(fromQuery)).length).toBeLessThan(stored.length);
      expect(json.filter(compileJsonFilter(fromQuery)).map((r) => r.seq)).toEqual(
        stored.filter(compileFilter(fromQuery)).map((r) => r.seq),
      );
    });

    it(`${key}: the library takes the record's own value`, () => {
      const record = json[seq - 1] as NotificationRecord & Record<string, unknown>;
      const field = RECORD_FILTERS[key].field;
      const own = ownValue[key]?.(record) ?? record[field];
      expect(json.filter(compileJsonFilter({ [key]: own })).map((r) => r.seq)).toContain(seq);
    });
  }

  const refused: [string, RegExp][] = [
    ['token=zz', /^query parameter token must be hex/],
    ['outcome=accepted,lost', /^query parameter outcome must be one of accepted, rejected, discarded, incomplete; got "lost"$/],
    ['since=-1', /^query parameter since must be an integer >= 0; got "-1"$/],
    ['connection=0', /^query parameter connection must be an integer >= 1; got "0"$/],
    ['identifier=1.5', /^query parameter identifier must be an integer >= 0/],
    ['command=x', /^query parameter command must be an integer >= 0/],
    ['protocol=spdy', /^query parameter protocol must be binary or http2; got "spdy"$/],
    ['marker=maybe', /^query parameter marker must be true or false; got "maybe"$/],
    ['reason=/(/', /^query parameter reason is not a valid \/regex\/: /],
    [`alert=${'x'.repeat(201)}`, /^query parameter alert must be at most 200 characters; got 201$/],
  ];
  for (const [query, message] of refused) {
    it(`refuses ${query} with a RecordFilterError that says why`, () => {
      let error: unknown;
      try {
        recordFilterFromQuery(new URLSearchParams(query));
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(RecordFilterError);
      expect(error).toMatchObject({ code: 'ERR_APNS_RECORD_FILTER', message: expect.stringMatching(message) });
    });
  }

  it('the command line words its refusals as options, and takes any for any outcome', () => {
    expect(() => recordFilterFromOptions({ connection: 0 })).toThrow('--connection must be a whole number >= 1; got 0');
    expect(() => recordFilterFromOptions({ 'apns-id': ['a', 'b'] })).toThrow('--apns-id was given 2 times; give it once');
    expect(() => recordFilterFromOptions({ outcome: 'lost' })).toThrow(
      '--outcome must be one of accepted, rejected, discarded, incomplete or any; got "lost"',
    );
    expect(recordFilterFromOptions({ outcome: 'any' })).toEqual({});
    expect(recordFilterFromQuery(new URLSearchParams('outcome=accepted&outcome=discarded,rejected'))).toEqual({
      outcome: ['accepted', 'discarded', 'rejected'],
    });
  });
});
