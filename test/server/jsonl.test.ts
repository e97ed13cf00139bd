import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnhanced, encodeNotification } from '../../protocol/binary/index.js';
import { Recorder, startSimulator, type ConnectionInfo, type NotificationRecord } from '../../server/index.js';
import { sendFrames } from '../support/provider-socket.js';

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
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as NotificationRecord);
};

describe('startSimulator({ record: file })', () => {
  it('writes one JSON line per record, the same JSON the library gives, and close() leaves the file complete', async () => {
    const path = join(dir, 'records.jsonl');
    const sim = await startSimulator({ record: path, controlPort: false });
    let records: NotificationRecord[];
    try {
      const frame = (identifier: number, payload: object | string = { aps: { alert: `n${identifier}` } }) => encodeNotification({ token: TOKEN, payload, identifier }, 2);
      await sendFrames(sim.ports.gateway, sim.credentials, Buffer.concat([frame(1), frame(2), encodeEnhanced({ token: TOKEN, payload: '', identifier: 3 }), frame(4)]));
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
      await sendFrames(sim.ports.gateway, sim.credentials, encodeNotification({ token: TOKEN, payload: { aps: {} }, identifier: 9 }, 2), 200);
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
  const connection: ConnectionInfo = { id: 1, protocol: 'binary', peer: '127.0.0.1:1', topic: 'com.example.app', environment: 'development' };
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
    expect(readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).identifier)).toEqual([1, 2]);
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
