import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeNotification } from '../../protocol/binary/index.js';
import { startSimulator, type NotificationRecord, type Simulator } from '../../server/index.js';
import { runCli } from '../support/cli-process.js';
import { sendFrames } from '../support/provider-socket.js';

const TOKEN = 'aa'.repeat(32);
const OTHER = 'bb'.repeat(32);

let sim: Simulator;
const frame = (identifier: number, token = TOKEN, alert = `n${identifier}`) =>
  encodeNotification({ token, payload: { aps: { alert } }, identifier }, 2);
const send = (writes: Buffer[]) => sendFrames(sim.ports.gateway, sim.credentials, writes, 200);
const expectCli = (args: string[]) => runCli(['expect', '--control', sim.controlUrl!, ...args]);

/** A port nothing listens on (bound, then let go). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
});

describe('apns-mock expect: the records match (exit 0)', () => {
  it('when they are there already, printing them', async () => {
    await send([frame(1), frame(2, OTHER), frame(3)]);
    const seq = (await sim.waitFor({}, { count: 3 })).map((r) => String(r.seq));
    const result = await expectCli(['--count', '2', '--token', TOKEN, '--timeout', '2s']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ok: 2 records match (wanted at least 2 accepted record(s) with token aaaaaaaa…aaaaaaaa):');
    expect(lines.slice(2).map((l) => l.trim().split(/\s{2,}/))).toEqual([
      [seq[0], 'accepted', 'aaaaaaaa…aaaaaaaa', '1', '-', '"n1"', '-'],
      [seq[2], 'accepted', 'aaaaaaaa…aaaaaaaa', '3', '-', '"n3"', '-'],
    ]);
  });

  it('when they arrive while it waits', async () => {
    const waiting = expectCli(['--count', '2', '--token', OTHER, '--timeout', '10s']);
    await new Promise((r) => setTimeout(r, 500));
    expect(sim.records()).toEqual([]);
    await send([frame(1, OTHER), frame(2), frame(3, OTHER)]);
    const result = await waiting;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: 2 records match/);
  });

  it('--status looks at every outcome unless --outcome says otherwise; --outcome takes a list', async () => {
    sim.rules.add({ match: { token: OTHER }, action: { type: 'reject', status: 8 } });
    await sendFrames(sim.ports.gateway, sim.credentials, [frame(1), frame(2, OTHER), frame(3)]);
    await sim.waitFor({}, { count: 3 });
    expect((await expectCli(['--status', '8', '--token', OTHER, '--timeout', '1s'])).code).toBe(0);
    expect((await expectCli(['--status', '8', '--outcome', 'accepted', '--timeout', '300ms'])).code).toBe(1);
    const listed = await expectCli(['--outcome', 'rejected,discarded', '--count', '2', '--timeout', '1s', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout).matched as NotificationRecord[]).map((r) => [r.identifier, r.outcome])).toEqual([
      [2, 'rejected'],
      [3, 'discarded'],
    ]);
    expect((await expectCli(['--outcome', 'any', '--count', '3', '--timeout', '1s'])).code).toBe(0);
  });

  it('--json prints one object with the records', async () => {
    await send([frame(7)]);
    await sim.waitFor();
    const result = await expectCli(['--identifier', '7', '--json', '--timeout', '1s']);
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer).toMatchObject({ ok: true, wanted: 'at least 1 accepted record(s) with identifier 7' });
    expect((await expectCli(['--identifier', '7', '--protocol', 'binary', '--timeout', '1s'])).code).toBe(0);
    expect((await expectCli(['--identifier', '7', '--protocol', 'http2', '--timeout', '200ms'])).code).toBe(1);
    expect(answer.matched).toEqual(sim.records());
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('--control-port and --control-token reach a guarded simulator', async () => {
    const guarded = await startSimulator({ controlToken: 'T0K' });
    try {
      await sendFrames(guarded.ports.gateway, guarded.credentials, frame(1), 200);
      await guarded.waitFor();
      const port = String(guarded.ports.control);
      const refused = await runCli(['expect', '--control-port', port, '--timeout', '1s']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(
        `apns-mock expect: the control API at http://127.0.0.1:${port} wants a token: pass --control-token (this control API needs "Authorization: Bearer <control token>")\n`,
      );
      expect((await runCli(['expect', '--control-port', port, '--control-token', 'T0K', '--timeout', '1s'])).code).toBe(0);
    } finally {
      await guarded.close();
    }
  });
});

describe('apns-mock expect: they do not (exit 1)', () => {
  it('prints what matched and what the simulator has instead', async () => {
    await send([frame(1), frame(2, OTHER), frame(3, TOKEN, 'the last')]);
    const seq = (await sim.waitFor({}, { count: 3 })).map((r) => String(r.seq));
    const result = await expectCli(['--count', '3', '--token', TOKEN, '--timeout', '300ms']);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('not matched: wanted at least 3 accepted record(s) with token aaaaaaaa…aaaaaaaa within 300 ms; 2 matched.');
    expect(lines[1]).toBe('Matching:');
    expect(lines[5]).toBe('What the simulator has:');
    expect(lines.slice(7).map((l) => l.trim().split(/\s{2,}/))).toEqual([
      [seq[0], 'accepted', 'aaaaaaaa…aaaaaaaa', '1', '-', '"n1"', '-'],
      [seq[1], 'accepted', 'bbbbbbbb…bbbbbbbb', '2', '-', '"n2"', '-'],
      [seq[2], 'accepted', 'aaaaaaaa…aaaaaaaa', '3', '-', '"the last"', '-'],
    ]);
  });

  it('with nothing at all', async () => {
    const result = await expectCli(['--timeout', '200ms']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'not matched: wanted at least 1 accepted record(s) within 200 ms; 0 matched.\nWhat the simulator has:\n  (no records)\n',
    );
  });

  it('--json says ok false with the records', async () => {
    await send([frame(1)]);
    await sim.waitFor();
    const result = await expectCli(['--topic', 'com.other.app', '--timeout', '200ms', '--json']);
    expect(result.code).toBe(1);
    const answer = JSON.parse(result.stdout);
    expect(answer).toMatchObject({ ok: false, wanted: 'at least 1 accepted record(s) with topic com.other.app', matched: [] });
    expect(answer.records).toEqual(sim.records());
  });

  it('--since leaves out earlier records', async () => {
    await send([frame(1), frame(2)]);
    const [, second] = await sim.waitFor({}, { count: 2 });
    expect((await expectCli(['--since', String(second.seq - 1), '--timeout', '1s'])).code).toBe(0);
    expect((await expectCli(['--since', String(second.seq), '--timeout', '200ms'])).code).toBe(1);
  });

  it('--exact fails when more match than --count', async () => {
    await send([frame(1), frame(2)]);
    await sim.waitFor({}, { count: 2 });
    const more = await expectCli(['--count', '1', '--exact', '--timeout', '1s']);
    expect(more.code).toBe(1);
    expect(more.stdout.split('\n')[0]).toBe('not matched: wanted exactly 1 accepted record(s); more than 1 match:');
    expect((await expectCli(['--count', '2', '--exact', '--timeout', '1s'])).code).toBe(0);
  });
});

describe('apns-mock expect: cannot ask (exit 2)', () => {
  it('says when no simulator answers, and how to start one', async () => {
    const port = await closedPort();
    const result = await runCli(['expect', '--control', `http://127.0.0.1:${port}`, '--timeout', '1s']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `apns-mock expect: no simulator answers at http://127.0.0.1:${port} (ECONNREFUSED): start one with \`npm start\` (apns-mock serve), or point --control / --control-port at it\n`,
    );
  });

  it('says when something else answers', async () => {
    const server = createHttpServer((_, response) => response.end('<html>hello</html>')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runCli(['expect', '--control-port', String(port), '--timeout', '1s']);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `apns-mock expect: http://127.0.0.1:${port} answered HTTP 200, but not as the apns-mock control API (the answer is not JSON)\n`,
      );
    } finally {
      server.close();
    }
  });

  const bad: [string[], string][] = [
    [['--count', '0'], '--count must be a whole number >= 1; got 0'],
    [['--count', 'many'], '--count must be a whole number >= 1; got NaN'],
    [['--outcome', 'lost'], '--outcome must be one of accepted, rejected, discarded, incomplete or any; got "lost"'],
    [['--token', 'not-hex'], `--token must be hex, such as ${'ab'.repeat(32)}; got "not-hex"`],
    [['--status', '300'], '--status must be a status byte (0-255); got 300'],
    [['--timeout', 'soon'], '--timeout must be a duration such as 500ms, 5s, 2m or 2h; got "soon"'],
    [['--control', 'ftp://127.0.0.1:1'], '--control must be an http:// URL; got "ftp://127.0.0.1:1"'],
    [['--control', 'nowhere'], '--control must be a URL such as http://127.0.0.1:2198; got "nowhere"'],
    [['--control', 'http://127.0.0.1:1', '--control-port', '2'], 'give --control or --control-port, not both'],
    [['--control-port', '70000'], '--control-port must be a port number from 0 to 65535; got "70000"'],
    [['--token', TOKEN, '--token', OTHER], '--token was given 2 times; give it once'],
    [['--connection', '0'], '--connection must be a whole number >= 1; got 0'],
    [['--protocol', 'spdy'], 'Invalid values:'],
    [['--colour', 'red'], 'Unknown argument: colour'],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${args.join(' ')}`, async () => {
      const result = await runCli(['expect', ...args]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')[0]).toBe(`apns-mock: ${message}`);
    });
  }
});
