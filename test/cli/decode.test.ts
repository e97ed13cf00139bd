import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vectorNamed } from '../support/vectors.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

async function decode(args: string[], input: string | Buffer = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'decode', ...args], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

const clean = vectorNamed('seed-php-sender').bytes;
const spaced = vectorNamed('seed-php-sender-token-with-spaces').bytes;
let dir: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js is missing: build first (npm test runs the build as pretest)');
  dir = mkdtempSync(join(tmpdir(), 'apns-decode-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('apns-mock decode', () => {
  it("explains the seed's frame given as a hex argument field by field, accepts it, exits 0", async () => {
    const r = await decode([clean.toString('hex')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const field of ['command', 'token length', 'device token', 'payload length', 'payload']) expect(r.stdout).toContain(field);
    expect(r.stdout).toContain('ACCEPTED');
    expect(r.stdout).toContain('"alert": "My first push test!"');
    expect(r.stdout).not.toContain('✗');
    // Not a terminal: no color codes.
    expect(r.stdout).not.toMatch(/\u001b\[/);
  });

  it('reads hex from stdin, with spaces, newlines, commas and 0x, and explains the spaced-token frame: exit 1', async () => {
    const hex = [...spaced]
      .map((b) => `0x${b.toString(16).padStart(2, '0')}`)
      .join(', ')
      .replace(/(.{60})/g, '$1\n');
    const r = await decode([], hex);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗\s+35\s+8a d0\s+payload length/);
    expect(r.stdout).toContain('REJECTED status 7 InvalidPayloadSize');
    expect(r.stdout).toContain(
      "the token is 2 bytes longer than its length field: the payload's '{' starts at offset 39, 2 bytes after where the length fields put it",
    );
  });

  it('reads a commented hex file with --file', async () => {
    const file = join(dir, 'frame.hex');
    writeFileSync(file, `${vectorNamed('enhanced-pushy-flush').hex.join('\n')}\n# a comment line\n`);
    const r = await decode(['--file', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'REJECTED status 2 MissingDeviceToken, identifier 2147483647 (echoed as 0); error response 08 02 00 00 00 00',
    );
  });

  it('reads raw bytes with --binary, from --file and from stdin', async () => {
    const file = join(dir, 'frame.bin');
    writeFileSync(file, clean);
    const fromFile = await decode(['--binary', '--file', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('ACCEPTED');
    const fromStdin = await decode(['--binary'], spaced);
    expect(fromStdin.code).toBe(1);
    expect(fromStdin.stdout).toContain('REJECTED');
  });

  it('prints the explanation as JSON with --json', async () => {
    const r = await decode(['--json', Buffer.concat([clean, spaced]).toString('hex')]);
    expect(r.code).toBe(1);
    const e = JSON.parse(r.stdout);
    expect(e.accepted).toBe(false);
    expect(e.frames.map((f: { verdict: { outcome: string } }) => f.verdict.outcome)).toEqual(['accepted', 'rejected']);
    expect(e.frames[1]).toMatchObject({
      offset: 94,
      command: 0,
      verdict: { status: 7, statusName: 'InvalidPayloadSize', errorResponse: null },
    });
    expect(e.frames[1].fields[3]).toMatchObject({ name: 'payload length', offset: 129, length: 2, hex: '8ad0', value: 35536 });
    expect(e.frames[1].verdict.hints[0]).toContain('2 bytes longer than its length field');
  });

  it('judges payload warnings as strict mode does with --strict', async () => {
    const noAps = vectorNamed('frame-payload-no-aps').bytes.toString('hex');
    const lenient = await decode([noAps]);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toContain('payload has no "aps" dictionary');
    const strict = await decode(['--strict', noAps]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('REJECTED status 7');
  });

  it('exits 1 for an incomplete frame and for an unknown command', async () => {
    const cut = await decode([clean.subarray(0, 40).toString('hex')]);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain(
      'frame ends after 40 bytes; the payload length field at offset 35 says 57 payload bytes follow, 3 arrived',
    );
    const unknown = await decode(['03 00 20']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('UNPARSABLE');
  });

  it.each([
    [['00 zz 11'], '', "apns-mock: not hex: 'zz' at character 4"],
    [[], '0000\n00 20 q!\n', "apns-mock: not hex: 'q!' at line 2, character 7"],
    [['000'], '', 'odd number of hex digits (3)'],
    [[], '', 'no input: the hex was empty'],
    [[], '  // only a comment\n', 'no input: the hex was empty'],
    [['--binary'], '', 'no input: no bytes arrived'],
    [['--file', 'no-such-file.hex'], '', 'cannot read --file no-such-file.hex: ENOENT'],
    [['--file', 'x.hex', '00'], '', 'either as hex arguments or with --file, not both'],
    [['--binary', '00'], '', '--binary reads raw bytes from --file or stdin'],
  ])('exits 2 on unusable input %j and says what was wrong', async (args, input, message) => {
    const r = await decode(args, input);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
  });
});
