import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Status } from '../../protocol/binary/index.js';
import { startSimulator, writeProviderBundle, type Simulator } from '../../server/index.js';
import { CLI, runCli } from '../support/cli-process.js';

// Runs the built CLI (dist/): `npm test` builds first; after editing, `npx tsc -p .` before `npx vitest run`.

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);

let sim: Simulator;
let dir: string;
let state: string;
let gateway: string[];
let feedback: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apns-cli-'));
  state = join(dir, 'state');
  sim = await startSimulator({ state, controlPort: false });
  // As `apns-mock serve` does: the provider bundle under <state>/client/, named by topic.
  await writeProviderBundle(
    join(state, 'client'),
    sim.credentials,
    { cert: sim.credentials.ca, key: '' },
    { baseName: sim.credentials.topic },
  );
  gateway = ['--state', state, '--port', String(sim.ports.gateway)];
  feedback = ['--state', state, '--port', String(sim.ports.feedback)];
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.recorder.clear();
  sim.rules.clear();
  sim.devices.clear();
});

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('apns-mock send', () => {
  it('sends one notification with the certificate `serve` wrote to the state directory: exit 0', async () => {
    const result = await runCli(['send', ...gateway, '--token', A, '--alert', 'Hello']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^accepted +#1 +${A} +id 1\\n`));
    expect(result.stdout).toMatch(/1 notification\(s\) to 127\.0\.0\.1:\d+: 1 accepted, 0 rejected, 0 failed/);
    const [record] = sim.records({ outcome: 'accepted' });
    expect(record).toMatchObject({ token: A, command: 2, topic: 'com.example.app', payloadJson: { aps: { alert: 'Hello' } } });
  });

  it('many tokens, --count, --json: one object per notification, then a summary', async () => {
    const result = await runCli([
      'send',
      ...gateway,
      '--token',
      A,
      '--token',
      B,
      '--count',
      '3',
      '--badge',
      '2',
      '--sound',
      'ping',
      '--json',
    ]);
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines).toHaveLength(7);
    expect(lines.slice(0, 6).map((l) => l.status)).toEqual(Array(6).fill('accepted'));
    expect(
      lines
        .slice(0, 6)
        .map((l) => l.n)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    expect(lines[6]).toMatchObject({ summary: { sent: 6, accepted: 6, rejected: 0, failed: 0 } });
    const records = sim.records({ outcome: 'accepted' });
    expect(records.map((r) => r.token)).toEqual([A, A, A, B, B, B]);
    expect(records[0].payloadJson).toEqual({ aps: { badge: 2, sound: 'ping' } });
  });

  it('exit 1 when one is rejected, and says which and why', async () => {
    sim.rules.add({ id: 'reject', match: { token: B }, action: { type: 'reject', status: Status.InvalidToken } });
    const result = await runCli(['send', ...gateway, '--token', A, '--token', B, '--token', A, '--alert', 'x', '--json']);
    expect(result.code).toBe(1);
    const lines = jsonLines(result.stdout);
    expect(lines.find((l) => l.token === B)).toMatchObject({
      n: 2,
      status: 'rejected',
      code: 8,
      name: 'InvalidToken',
      reason: 'Invalid token',
      identifier: 2,
    });
    expect(lines.filter((l) => l.status === 'accepted')).toHaveLength(2);
    expect(lines.at(-1)).toMatchObject({ summary: { sent: 3, accepted: 2, rejected: 1 } });
    const text = await runCli(['send', ...gateway, '--token', B, '--alert', 'x']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^rejected +#1 .* status 8 InvalidToken: Invalid token/);
  });

  it('--tokens-file (comments and blank lines skipped), --payload @file, --command 1 with --expiry', async () => {
    const tokens = join(dir, 'tokens.txt');
    await writeFile(tokens, `# devices\n${A}\n\n<${B.slice(0, 8)} ${B.slice(8)}>\n`);
    const payload = join(dir, 'payload.json');
    await writeFile(payload, '{"aps":{"alert":"from a file"},"x":1}\n');
    const result = await runCli([
      'send',
      ...gateway,
      '--tokens-file',
      tokens,
      '--payload',
      `@${payload}`,
      '--command',
      '1',
      '--expiry',
      '1700000000',
    ]);
    expect(result.code).toBe(0);
    const records = sim.records({ outcome: 'accepted' });
    expect(records.map((r) => [r.token, r.command, r.expiry, r.payload])).toEqual([
      [A, 1, 1_700_000_000, '{"aps":{"alert":"from a file"},"x":1}'],
      [B, 1, 1_700_000_000, '{"aps":{"alert":"from a file"},"x":1}'],
    ]);
  });

  it('--p12 with its passphrase, --command 0, --rate', async () => {
    const bundle = await writeProviderBundle(
      join(dir, 'p12'),
      sim.credentials,
      { cert: sim.credentials.ca, key: '' },
      { passphrase: 'secret' },
    );
    const started = Date.now();
    const result = await runCli([
      'send',
      ...gateway,
      '--p12',
      bundle.p12,
      '--passphrase',
      'secret',
      '--token',
      A,
      '--count',
      '3',
      '--rate',
      '10/s',
      '--command',
      '0',
      '--payload',
      '{"aps":{}}',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith('accepted'))
        .every((l) => !l.includes(' id ')),
    ).toBe(true);
    expect(sim.records({ outcome: 'accepted' }).map((r) => r.command)).toEqual([0, 0, 0]);
  });

  it('exit 1 with a hint when nothing listens', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    const result = await runCli(['send', '--state', state, '--port', String(port), '--token', A, '--alert', 'x']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^failed +#1 .*ECONNREFUSED/);
    expect(result.stderr).toMatch(/nothing listens at 127\.0\.0\.1:\d+: start the simulator with 'npx apns-mock serve'/);
  });

  describe('exit 2 for options a person must fix', () => {
    const cases: [string, string[], RegExp][] = [
      [
        'a token that is not hex, with the position',
        ['--token', `${A.slice(0, 10)}zz${A.slice(12)}`, '--alert', 'x'],
        /--token #1: ".*" is not hex: "z" at position 11/,
      ],
      [
        'the second token too short',
        ['--token', A, '--token', 'abcd', '--alert', 'x'],
        /--token #2: a device token is 32 bytes, 64 hex digits; this one has 4/,
      ],
      ['no token', ['--alert', 'x'], /name at least one device token/],
      ['nothing to send', ['--token', A], /say what to send/],
      ['a payload that is not JSON', ['--token', A, '--payload', '{aps'], /--payload is not JSON/],
      ['an unreadable tokens file', ['--tokens-file', 'no/such/file', '--alert', 'x'], /cannot read --tokens-file no\/such\/file: ENOENT/],
      ['priority with command 1', ['--token', A, '--alert', 'x', '--command', '1', '--priority', '5'], /commands 0 and 1 have no priority/],
      ['a bad rate', ['--token', A, '--alert', 'x', '--rate', 'fast'], /--rate must be notifications per second/],
      [
        'a wrong .p12 passphrase',
        ['--token', A, '--alert', 'x', '--p12', 'P12', '--passphrase', 'wrong'],
        /cannot use the provider certificate from .*: .*(mac verify|password)/i,
      ],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const resolved = args.map((a) => (a === 'P12' ? join(state, 'client', 'com.example.app.p12') : a));
        const result = await runCli(['send', ...gateway, ...resolved]);
        expect(result.stderr).toMatch(message);
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
      });
    }

    it('no credentials in the state directory: says what to do', async () => {
      const empty = join(dir, 'empty-state');
      const result = await runCli(['send', '--state', empty, '--port', String(sim.ports.gateway), '--token', A, '--alert', 'x']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /no provider certificate found in .*empty-state.client: give --cert and --key \(or --p12 and --passphrase\), or start the simulator first with 'npx apns-mock serve'/,
      );
      expect(sim.records()).toEqual([]);
    });
  });
});

describe('apns-mock feedback', () => {
  it('prints the uninstalled tokens, then nothing once they were read', async () => {
    sim.devices.uninstall(A, { topic: 'com.example.app', environment: 'development', timestamp: 1_700_000_000 });
    sim.devices.uninstall(B, { topic: 'com.example.app', timestamp: 1_700_000_060 });
    const result = await runCli(['feedback', ...feedback, '--json']);
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)).toEqual([
      { timestamp: 1_700_000_000, date: '2023-11-14T22:13:20.000Z', token: A },
      { timestamp: 1_700_000_060, date: '2023-11-14T22:14:20.000Z', token: B },
    ]);
    const again = await runCli(['feedback', ...feedback]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No uninstalled apps reported/);
  });

  it('prints one line per token for people', async () => {
    sim.devices.uninstall(A, { timestamp: 1_700_000_000 });
    const result = await runCli(['feedback', ...feedback]);
    expect(result.stdout).toBe(`2023-11-14T22:13:20.000Z  ${A}\n1 token(s) of uninstalled apps.\n`);
  });

  it('exit 1 when the service cannot be reached, 2 without credentials', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    const down = await runCli(['feedback', '--state', state, '--port', String(port)]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot read the feedback service at 127\.0\.0\.1:\d+: .*ECONNREFUSED.*apns-mock serve/);
    const none = await runCli(['feedback', '--state', join(dir, 'nothing-here'), '--port', String(sim.ports.feedback)]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no provider certificate found/);
  });
});

describe('apns-mock send: what the user sees after a rejection or a failure', () => {
  let local: Simulator;
  beforeAll(async () => {
    local = await startSimulator({ state, controlPort: 0 });
  });
  afterAll(async () => {
    await local.close();
  });
  const to = (s: Simulator) => ['--state', state, '--port', String(s.ports.gateway), '--control-port', String(s.ports.control)];

  it("a rejection: the simulator's reason under the status line, from the control API; --no-explain leaves it out", async () => {
    local.rules.add({ id: 'no-b', match: { token: B }, action: { type: 'reject', status: Status.InvalidToken } });
    const result = await runCli(['send', ...to(local), '--token', B, '--alert', 'x']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^rejected +#1 .* status 8 InvalidToken: Invalid token\n {10}simulator: .*\(rule no-b\)\n/);
    const plain = await runCli(['send', ...to(local), '--token', B, '--alert', 'x', '--no-explain']);
    expect(plain.stdout).not.toMatch(/simulator:/);
  });

  it('--quiet: only the summary', async () => {
    const result = await runCli(['send', ...to(local), '--token', A, '--count', '5', '--alert', 'x', '--quiet']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^5 notification\(s\) to 127\.0\.0\.1:\d+: 5 accepted, 0 rejected, 0 failed \([\d.]+ s\)\n$/);
  });

  it('on a terminal: a progress line, redrawn in place and cleared before each outcome line and the summary', async () => {
    // util-linux's `script` gives the CLI a pseudo-terminal, as a person's shell does.
    const words = [process.execPath, CLI, 'send', ...to(local), '--token', A, '--count', '4', '--rate', '4', '--alert', 'x'];
    const quoted = (quiet: boolean) => [...words, ...(quiet ? ['--quiet'] : [])].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const onTerminal = async (quiet: boolean) => {
      const child = spawn('script', ['-qefc', quoted(quiet), '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const [code] = (await once(child, 'close')) as [number];
      return { code, out: out.replace(/\r\n/g, '\n') };
    };
    const quiet = await onTerminal(true);
    expect(quiet.code).toBe(0);
    // Four at four a second take a second: the line is drawn every 200 ms, each time over itself.
    const draws = quiet.out.match(/\r\d\/4: \d accepted, 0 rejected, 0 failed/g) ?? [];
    expect(draws.length).toBeGreaterThanOrEqual(2);
    expect(quiet.out).toMatch(/\r\x1b\[K4 notification\(s\) to 127\.0\.0\.1:\d+: 4 accepted, 0 rejected, 0 failed \([\d.]+ s\)\n$/);
    const each = await onTerminal(false);
    expect(each.code).toBe(0);
    // What the terminal shows: each outcome line and the summary on a line of its own, no progress text left over.
    const shown = screen(each.out);
    expect(shown.filter((l) => /^accepted +#\d/.test(l))).toHaveLength(4);
    expect(shown.filter((l) => /\d\/4:/.test(l))).toEqual([]);
    expect(shown.at(-1)).toMatch(/^4 notification\(s\) to .*: 4 accepted/);
  });

  it('the HTTP/2 port by mistake: fails at once, and says where the binary gateway is', async () => {
    const result = await runCli(['send', '--state', state, '--port', String(local.ports.http2), '--token', A, '--alert', 'x', '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/0 accepted, 0 rejected, 1 failed/);
    expect(result.stderr).toMatch(/apns-mock: \d+ speaks HTTP\/2; the binary gateway is on 2195 \(or send with --http2\)/);
  });

  it('a certificate the gateway does not take (another CA): fails at once, saying what to do', async () => {
    const stranger = await startSimulator({ state: join(dir, 'stranger'), controlPort: false, http2Port: false });
    try {
      const bundle = await writeProviderBundle(join(dir, 'stranger-client'), stranger.credentials, {
        cert: stranger.credentials.ca,
        key: '',
      });
      const result = await runCli(['send', ...to(local), '--cert', bundle.cert, '--key', bundle.key, '--token', A, '--alert', 'x']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^failed +#1 .*closed the connection during or right after the TLS handshake/);
      expect(result.stderr).toMatch(/apns-mock: .*did not take the client certificate.*apns-mock certs/);
    } finally {
      await stranger.close();
    }
  });
});

/** The lines a terminal shows for this output: `\r` returns to the line's start, ESC [K clears to its end. */
function screen(output: string): string[] {
  const lines: string[] = [];
  let line = '';
  let cursor = 0;
  for (let i = 0; i < output.length; i++) {
    const c = output[i];
    if (c === '\n') {
      lines.push(line);
      line = '';
      cursor = 0;
    } else if (c === '\r') {
      cursor = 0;
    } else if (output.startsWith('\x1b[K', i)) {
      line = line.slice(0, cursor);
      i += 2;
    } else {
      line = line.slice(0, cursor) + c + line.slice(cursor + 1);
      cursor++;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
