import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnhanced, encodeNotification } from '../../../protocol/binary/index.js';
import { Recorder, startSimulator, type ConnectionInfo, type NotificationRecord } from '../../../server/index.js';
import { RecordFileError, type SinkState } from '../../../server/recorder/jsonl.js';
import { sendFrames } from '../../support/provider-socket.js';

const TOKEN = 'aa'.repeat(32);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-mock-jsonl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const linesOf = async (path: string): Promise<NotificationRecord[]> => {
  const text = await readFile(path, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as NotificationRecord);
};

describe('startSimulator({ record: file })', () => {
  it('writes one JSON line per record, the same JSON the library gives, and close() leaves the file complete', async () => {
    const path = join(dir, 'records.jsonl');
    const sim = await startSimulator({ record: path, controlPort: false });
    let records: NotificationRecord[];
    try {
      const frame = (identifier: number, payload: object | string = { aps: { alert: `n${identifier}` } }) =>
        encodeNotification({ token: TOKEN, payload, identifier }, 2);
      await sendFrames(
        sim.ports.gateway,
        sim.credentials,
        Buffer.concat([frame(1), frame(2), encodeEnhanced({ token: TOKEN, payload: '', identifier: 3 }), frame(4)]),
      );
      records = await sim.waitFor({}, { count: 4 });
      expect(sim.recorder.jsonlPath).toBe(path);
    } finally {
      await sim.close();
    }
    const lines = await linesOf(path);
    expect(lines).toEqual(records);
    expect(lines.map((r) => [r.seq, r.identifier, r.outcome])).toEqual([
      [1, 1, 'accepted'],
      [2, 2, 'accepted'],
      [3, 3, 'rejected'],
      [4, 4, 'discarded'],
    ]);
  });

  it('appends to a file that exists', async () => {
    const path = join(dir, 'existing.jsonl');
    await writeFile(path, '{"earlier":true}\n');
    const sim = await startSimulator({ record: path, controlPort: false });
    try {
      await sendFrames(
        sim.ports.gateway,
        sim.credentials,
        encodeNotification({ token: TOKEN, payload: { aps: {} }, identifier: 9 }, 2),
        200,
      );
      await sim.waitFor({ identifier: 9 });
    } finally {
      await sim.close();
    }
    const text = await readFile(path, 'utf8');
    const [first, second, ...rest] = text.trimEnd().split('\n');
    expect(first).toBe('{"earlier":true}');
    expect(JSON.parse(second)).toMatchObject({ identifier: 9, outcome: 'accepted' });
    expect(rest).toEqual([]);
  });
});

describe('Recorder JSONL sink', () => {
  const connection: ConnectionInfo = {
    id: 1,
    protocol: 'binary',
    peer: '127.0.0.1:1',
    topic: 'com.example.app',
    environment: 'development',
  };
  const add = (recorder: Recorder, identifier: number) =>
    recorder.add({ connection, command: 2, identifier, bytes: Buffer.from(`frame ${identifier}`), outcome: 'accepted' });

  it('gathers the records of one turn of the event loop and writes them at its end', async () => {
    const path = join(dir, 'turn.jsonl');
    const recorder = new Recorder({ jsonlPath: path });
    add(recorder, 1);
    add(recorder, 2);
    expect(readFileSync(path, 'utf8')).toBe('');
    await new Promise((resolve) => setImmediate(resolve));
    expect((await linesOf(path)).map((r) => r.identifier)).toEqual([1, 2]);
    recorder.close();
  });

  it('close() writes what is owed synchronously, as a SIGTERM handler needs; later records are not written', async () => {
    const path = join(dir, 'close.jsonl');
    const recorder = new Recorder({ jsonlPath: path });
    add(recorder, 1);
    add(recorder, 2);
    expect(readFileSync(path, 'utf8')).toBe('');
    recorder.close();
    expect(
      readFileSync(path, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).identifier),
    ).toEqual([1, 2]);
    add(recorder, 3);
    await new Promise((resolve) => setImmediate(resolve));
    expect((await linesOf(path)).map((r) => r.identifier)).toEqual([1, 2]);
  });

  it('flush() writes at once and keeps the file open', async () => {
    const path = join(dir, 'flush.jsonl');
    const recorder = new Recorder({ jsonlPath: path });
    add(recorder, 1);
    recorder.flush();
    expect(JSON.parse(readFileSync(path, 'utf8')).identifier).toBe(1);
    add(recorder, 2);
    recorder.close();
    expect((await linesOf(path)).map((r) => r.identifier)).toEqual([1, 2]);
  });
});

describe('a record file that fails never stops the simulator (issue 12, rows 4, 8, 9)', () => {
  const connection: ConnectionInfo = {
    id: 1,
    protocol: 'binary',
    peer: '127.0.0.1:1',
    topic: 'com.example.app',
    environment: 'development',
  };
  const add = (recorder: Recorder, identifier: number) =>
    recorder.add({ connection, command: 2, identifier, bytes: Buffer.from(`frame ${identifier}`), outcome: 'accepted' });
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('a full disk (/dev/full): the sink stops, says so once with the error, waits resolve at once, the records go on in memory', async () => {
    const recorder = new Recorder({ jsonlPath: '/dev/full' });
    const failures: SinkState[] = [];
    recorder.on('sinkFailed', (state: SinkState) => failures.push(state));
    add(recorder, 1);
    await recorder.whenWritten();
    for (let i = 2; i <= 500; i++) add(recorder, i);
    await turn();
    expect(failures).toEqual([{ path: '/dev/full', failed: true, error: expect.stringMatching(/^ENOSPC/), written: 0, flushedSeq: 0 }]);
    expect(recorder.sinkState).toEqual(failures[0]);
    await recorder.whenWritten(recorder.lastSeq);
    expect(recorder.size).toBe(500);
    expect(recorder.find({ identifier: 500 })).toHaveLength(1);
    recorder.close();
  });

  it('serve with --record /dev/full: the gateway goes on accepting and recording in memory', async () => {
    const sim = await startSimulator({ record: '/dev/full', controlPort: false, http2Port: false });
    try {
      const failed = new Promise<SinkState>((resolve) => sim.recorder.once('sinkFailed', resolve));
      for (let round = 1; round <= 3; round++) {
        await sendFrames(
          sim.ports.gateway,
          sim.credentials,
          encodeNotification({ token: TOKEN, payload: { aps: {} }, identifier: round }, 2),
          100,
        );
        await sim.waitFor({ identifier: round });
      }
      expect((await failed).error).toMatch(/^ENOSPC/);
      expect(sim.records().map((r) => r.identifier)).toEqual([1, 2, 3]);
    } finally {
      await sim.close();
    }
  });

  it('a record file whose directory is removed after start: the sink notices within a second or so and stops; recording goes on', async () => {
    const gone = await mkdtemp(join(dir, 'gone-'));
    const recorder = new Recorder({ jsonlPath: join(gone, 'records.jsonl') });
    const failures: SinkState[] = [];
    recorder.on('sinkFailed', (state: SinkState) => failures.push(state));
    add(recorder, 1);
    await recorder.whenWritten();
    expect(recorder.sinkState).toMatchObject({ failed: false, written: 1, flushedSeq: 1 });
    await rm(gone, { recursive: true });
    const deadline = Date.now() + 5000;
    for (let i = 2; failures.length === 0 && Date.now() < deadline; i++) {
      add(recorder, i);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ failed: true, error: expect.stringMatching(/^ENOENT: the record file was removed/) });
    // Records written before the check looked went with the removed file: counted, as the OS took them.
    expect(failures[0].written).toBeGreaterThanOrEqual(1);
    add(recorder, 1000);
    await recorder.whenWritten();
    expect(recorder.find({ identifier: 1000 })).toHaveLength(1);
    expect(failures).toHaveLength(1);
    recorder.close();
  });

  it('a record file that cannot be opened: one readable error, no stack needed', () => {
    expect(() => new Recorder({ jsonlPath: join(dir, 'no-such-dir', 'x.jsonl') })).toThrow(RecordFileError);
    expect(() => new Recorder({ jsonlPath: join(dir, 'no-such-dir', 'x.jsonl') })).toThrow(
      /^cannot open the record file .*x\.jsonl: its directory does not exist$/,
    );
  });

  it('whenWritten(seq) resolves once the record is handed to the OS, not before; the writes stay batched per turn', async () => {
    const path = join(dir, 'settled.jsonl');
    const recorder = new Recorder({ jsonlPath: path });
    for (let i = 1; i <= 1000; i++) add(recorder, i);
    expect(readFileSync(path, 'utf8')).toBe('');
    const seq = recorder.lastSeq;
    await recorder.whenWritten(seq);
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(1000);
    expect(recorder.sinkState).toMatchObject({ failed: false, written: 1000, flushedSeq: seq });
    // Nothing owed: at once.
    await recorder.whenWritten();
    recorder.close();
    await recorder.whenWritten(seq + 1);
  });

  it('the file holds device tokens: created 0600 even under umask 000', async () => {
    const path = join(dir, 'mode.jsonl');
    const previous = process.umask(0);
    try {
      const recorder = new Recorder({ jsonlPath: path });
      recorder.close();
    } finally {
      process.umask(previous);
    }
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
