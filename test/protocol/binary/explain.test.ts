import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { explain, formatExplanation, type ExplainedFrame } from '../../../protocol/binary/index.js';
import { bytes, enhancedFrame, frame, phpPackHStar, simpleFrame } from '../../support/bytes.js';
import { loadVectors, vectorNamed } from '../../support/vectors.js';

const SEED_TOKEN_LITERAL = '740f4707bebcf74f 9b7c25d4 8e3358945f6aa01da5ddb387462c7eaf 61bb78ad';
const SEED_PAYLOAD = '{"aps":{"alert":"My first push test!","sound":"default"}}';
const TOKEN = Buffer.from(SEED_TOKEN_LITERAL.replace(/ /g, ''), 'hex');
const PAYLOAD = Buffer.from(SEED_PAYLOAD);

/** The seed sender's frame: chr(0) . pack('n', 32) . pack('H*', $token) . pack('n', strlen($payload)) . $payload. */
function seedFrame(tokenLiteral: string): Buffer {
  return bytes().u8(0).u16(32).raw(phpPackHStar(tokenLiteral)).u16(PAYLOAD.length).raw(PAYLOAD).build();
}

const layout = (f: ExplainedFrame) => f.fields.map((x) => [x.name, x.offset, x.length]);
const hasPhp = (() => {
  try {
    execFileSync('php', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('explain on every golden vector', () => {
  describe.each(loadVectors().map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const e = explain(vector.bytes, vector.options);

    it('gives the expected verdict for each frame', () => {
      expect(e.frames.length).toBe(vector.verdicts.length);
      e.frames.forEach((f, i) => {
        const want = vector.verdicts[i];
        expect(f.verdict).toMatchObject({
          outcome: want.outcome,
          status: want.status,
          identifier: want.identifier,
          errorResponse: want.errorResponse,
        });
        if (want.reason !== undefined) expect(f.verdict.reason).toContain(want.reason);
        expect(f.verdict.reason.length).toBeGreaterThan(10);
        const warnings =
          want.outcome === 'accepted' || want.warnings.length > 0 ? (f.payload?.warnings ?? []).map((w) => w.code) : want.warnings;
        expect(warnings).toEqual(want.warnings);
      });
      expect(e.accepted).toBe(vector.verdicts.every((v) => v.outcome === 'accepted'));
    });

    it('marks exactly the failing field', () => {
      e.frames.forEach((f, i) => {
        const marked = f.fields.filter((x) => x.problem !== undefined).map((x) => ({ name: x.name, offset: x.offset }));
        const want = vector.verdicts[i].problem;
        expect(marked).toEqual(want === null ? [] : [want]);
      });
    });

    it('lays the fields out contiguously over the whole input, each with its bytes', () => {
      let at = 0;
      for (const f of e.frames) {
        expect(f.offset).toBe(at);
        let p = f.offset;
        for (const field of f.fields) {
          expect(field.offset).toBe(p);
          expect(field.hex).toBe(vector.bytes.toString('hex', field.offset, field.offset + field.length));
          p += field.length;
        }
        // A frame whose declared lengths run past the input ends with the input.
        expect(p).toBeLessThanOrEqual(f.offset + f.length);
        at = f.offset + f.length;
      }
      expect(at).toBe(vector.bytes.length);
    });

    it('formats as text that names every field and the verdict', () => {
      const text = formatExplanation(e);
      for (const f of e.frames) {
        for (const field of f.fields) expect(text).toContain(field.name);
        expect(text).toContain(f.verdict.outcome.toUpperCase());
      }
      expect(text.includes('✗')).toBe(vector.verdicts.some((v) => v.problem !== null));
      expect(text).not.toMatch(/\u001b\[/);
    });

    it('says nothing of misaligned fields unless the vector is about them', () => {
      const about = /spaces/.test(vector.name);
      const said = e.frames.some((f) => f.verdict.hints.some((h) => /than its length field/.test(h)));
      expect(said).toBe(about);
    });
  });
});

describe("the seed's PHP sender", () => {
  it('packs the spaced token into 34 bytes ending 8a d0, as PHP does', () => {
    const packed = phpPackHStar(SEED_TOKEN_LITERAL);
    expect(packed.toString('hex')).toBe('740f4707bebcf74f09b7c25d408e3358945f6aa01da5ddb387462c7eaf061bb78ad0');
    expect(seedFrame(SEED_TOKEN_LITERAL).toString('hex')).toBe(vectorNamed('seed-php-sender-token-with-spaces').bytes.toString('hex'));
    expect(seedFrame(SEED_TOKEN_LITERAL.replace(/ /g, '')).toString('hex')).toBe(vectorNamed('seed-php-sender').bytes.toString('hex'));
  });

  it.runIf(hasPhp)('builds exactly the fixture frames when PHP itself runs the seed code', () => {
    const script = `
      $body['aps'] = array('alert' => 'My first push test!', 'sound' => 'default');
      $payload = json_encode($body);
      foreach ([$argv[1], str_replace(' ', '', $argv[1])] as $deviceToken) {
        $msg = chr(0) . pack('n', 32) . pack('H*', $deviceToken) . pack('n', strlen($payload)) . $payload;
        echo bin2hex($msg), "\\n";
      }`;
    const out = execFileSync('php', ['-d', 'error_reporting=0', '-r', script, SEED_TOKEN_LITERAL], { encoding: 'utf8' }).trim().split('\n');
    expect(out).toEqual([
      vectorNamed('seed-php-sender-token-with-spaces').bytes.toString('hex'),
      vectorNamed('seed-php-sender').bytes.toString('hex'),
    ]);
  });

  it('explains the clean frame field by field and accepts it', () => {
    const e = explain(seedFrame(SEED_TOKEN_LITERAL.replace(/ /g, '')));
    expect(e.accepted).toBe(true);
    const [f] = e.frames;
    expect(layout(f)).toEqual([
      ['command', 0, 1],
      ['token length', 1, 2],
      ['device token', 3, 32],
      ['payload length', 35, 2],
      ['payload', 37, 57],
    ]);
    expect(f.fields.map((x) => x.value)).toEqual([0, 32, TOKEN.toString('hex'), 57, SEED_PAYLOAD]);
    expect(f.payload).toEqual({ text: SEED_PAYLOAD, json: JSON.parse(SEED_PAYLOAD), warnings: [] });
    expect(f.verdict).toMatchObject({ outcome: 'accepted', status: null, identifier: null, errorResponse: null, hints: [] });
  });

  it('says the spaced token is 2 bytes longer than its length field, and where the payload really is', () => {
    const e = explain(seedFrame(SEED_TOKEN_LITERAL));
    const [f] = e.frames;
    expect(layout(f)).toEqual([
      ['command', 0, 1],
      ['token length', 1, 2],
      ['device token', 3, 32],
      ['payload length', 35, 2],
      ['payload', 37, 59],
    ]);
    expect(f.fields[3]).toMatchObject({ hex: '8ad0', value: 35536, problem: 'payload is 35536 bytes; command 0 allows 256' });
    expect(f.verdict).toMatchObject({
      outcome: 'rejected',
      status: 7,
      statusName: 'InvalidPayloadSize',
      identifier: null,
      errorResponse: null,
    });
    expect(f.verdict.reason).toContain('payload is 35536 bytes; command 0 allows 256');
    expect(f.verdict.reason).toContain(
      "the token is 2 bytes longer than its length field: the payload's '{' starts at offset 39, 2 bytes after where the length fields put it",
    );
    const hints = f.verdict.hints.join('\n');
    expect(hints).toContain('the real payload length 00 39 (57) sits at offset 37');
    expect(hints).toContain(`the real payload: ${SEED_PAYLOAD}`);
    expect(hints).toContain("pack('H*'");
    expect(hints).toContain('no error response');
    expect(e.summary).toContain('2 bytes longer');
  });

  it('gives the same diagnosis when the input stops inside the real payload', () => {
    const cut = seedFrame(SEED_TOKEN_LITERAL).subarray(0, 60);
    const [f] = explain(cut).frames;
    expect(f.verdict.outcome).toBe('rejected');
    expect(f.verdict.reason).toContain("the token is 2 bytes longer than its length field: the payload's '{' starts at offset 39");
    expect(f.verdict.hints.join('\n')).toContain('the input ends inside this frame');
  });

  it('diagnoses a token sent as 64 hex characters instead of 32 bytes', () => {
    const asText = bytes().u8(0).u16(32).utf8(TOKEN.toString('hex')).u16(PAYLOAD.length).raw(PAYLOAD).build();
    const [f] = explain(asText).frames;
    expect(f.verdict.reason).toContain("the token is 32 bytes longer than its length field: the payload's '{' starts at offset 69");
    expect(f.verdict.hints.join('\n')).toContain('64 hex characters');
  });

  it('diagnoses a token shorter than its length field', () => {
    const short = bytes().u8(1).u32(7).u32(0).u16(32).raw(TOKEN.subarray(0, 30)).u16(PAYLOAD.length).raw(PAYLOAD).build();
    const [f] = explain(short).frames;
    expect(f.verdict.reason).toContain(
      "the token is 2 bytes shorter than its length field: the payload's '{' starts at offset 43, 2 bytes before where the length fields put it (offset 45)",
    );
  });

  it('diagnoses a command-2 token item longer than its length field', () => {
    const long = phpPackHStar(SEED_TOKEN_LITERAL);
    const body = bytes().u8(1).u16(32).raw(long).u8(2).u16(PAYLOAD.length).raw(PAYLOAD).u8(3).u16(4).u32(9).build();
    const input = bytes().u8(2).u32(body.length).raw(body).build();
    const [f] = explain(input).frames;
    expect(f.verdict).toMatchObject({ outcome: 'rejected', status: 128, identifier: 0, errorResponse: '088000000000' });
    expect(f.fields.find((x) => x.problem)?.offset).toBe(5 + 3 + 32);
    expect(f.verdict.reason).toContain(
      "the item 1 (device token) is 2 bytes longer than its length field: the payload's '{' starts at offset 45, 2 bytes after where the length fields put it (offset 43)",
    );
  });
});

describe('explain on truncated input', () => {
  const whole = seedFrame(SEED_TOKEN_LITERAL.replace(/ /g, ''));

  it.each([
    [
      1,
      'frame ends after 1 byte, inside the token length field at offset 1 (2 bytes; 0 arrived); the device token, payload length, payload have not arrived',
      'token length',
      1,
    ],
    [
      2,
      'frame ends after 2 bytes, inside the token length field at offset 1 (2 bytes; 1 arrived); the device token, payload length, payload have not arrived',
      'token length',
      1,
    ],
    [
      20,
      'frame ends after 20 bytes; the token length field at offset 1 says 32 token bytes follow, 17 arrived; the payload length, payload have not arrived',
      'device token',
      3,
    ],
    [
      35,
      'frame ends after 35 bytes, inside the payload length field at offset 35 (2 bytes; 0 arrived); the payload has not arrived',
      'payload length',
      35,
    ],
    [37, 'frame ends after 37 bytes; the payload length field at offset 35 says 57 payload bytes follow, 0 arrived', 'payload', 37],
    [40, 'frame ends after 40 bytes; the payload length field at offset 35 says 57 payload bytes follow, 3 arrived', 'payload', 37],
    [93, 'frame ends after 93 bytes; the payload length field at offset 35 says 57 payload bytes follow, 56 arrived', 'payload', 37],
  ])('cut after %i bytes: says what is missing and where', (length, reason, field, offset) => {
    const e = explain(whole.subarray(0, length));
    expect(e.frames).toHaveLength(1);
    const [f] = e.frames;
    expect(f.verdict).toMatchObject({ outcome: 'incomplete', status: null, errorResponse: null });
    expect(f.verdict.reason).toBe(reason);
    const marked = f.fields.filter((x) => x.problem);
    expect(marked.map((x) => [x.name, x.offset])).toEqual([[field, offset]]);
    expect(e.accepted).toBe(false);
  });

  it('stops at the first field the input ends in: a command-1 frame cut inside its identifier', () => {
    const [f] = explain(Buffer.from('010000', 'hex')).frames;
    expect(f.verdict.reason).toBe(
      'frame ends after 3 bytes, inside the identifier field at offset 1 (4 bytes; 2 arrived); the expiry, token length, device token, payload length, payload have not arrived',
    );
    expect(layout(f)).toEqual([
      ['command', 0, 1],
      ['identifier', 1, 2],
    ]);
  });

  it('marks, in every vector cut anywhere, the field the input ends in', () => {
    const problems: string[] = [];
    for (const v of loadVectors().filter((x) => x.bytes.length <= 400 && !x.options)) {
      for (let length = 1; length < v.bytes.length; length++) {
        const e = explain(v.bytes.subarray(0, length));
        const last = e.frames[e.frames.length - 1];
        if (last.verdict.outcome !== 'incomplete') continue;
        const marked = last.fields.filter((x) => x.problem !== undefined);
        const ok =
          marked.length === 1 &&
          marked[0].offset + marked[0].length === length &&
          last.verdict.reason.startsWith(`frame ends after ${length - last.offset} byte`);
        if (!ok) problems.push(`${v.name} cut at ${length}: ${last.verdict.reason}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('says where a command-2 frame stops, by its frame length and by the item', () => {
    const f2 = frame([
      [1, TOKEN],
      [2, PAYLOAD],
    ]);
    const [f] = explain(f2.subarray(0, 20)).frames;
    expect(f.verdict.reason).toBe(
      `frame ends after 20 bytes; the frame length field at offset 1 says ${f2.length - 5} bytes of items follow, 15 arrived; it stops inside the device token at offset 8 (12 of the 32 bytes its item header declares)`,
    );
  });

  it('says so when the identifier of a command-1 frame arrived before the cut', () => {
    const [f] = explain(enhancedFrame(77, 0, TOKEN, PAYLOAD).subarray(0, 12)).frames;
    expect(f.verdict).toMatchObject({ outcome: 'incomplete', identifier: 77 });
  });
});

describe('explain on several frames', () => {
  it('explains each frame at its offset, and says which frames a rejection discards', () => {
    const a = simpleFrame(TOKEN, PAYLOAD);
    const b = enhancedFrame(5, 0, Buffer.alloc(0), PAYLOAD);
    const c = frame([
      [1, TOKEN],
      [2, PAYLOAD],
      [3, Buffer.from([0, 0, 0, 6])],
    ]);
    const e = explain(Buffer.concat([a, b, c, a]));
    expect(e.frames.map((f) => [f.offset, f.length, f.command, f.verdict.outcome])).toEqual([
      [0, a.length, 0, 'accepted'],
      [a.length, b.length, 1, 'rejected'],
      [a.length + b.length, c.length, 2, 'accepted'],
      [a.length + b.length + c.length, a.length, 0, 'accepted'],
    ]);
    expect(e.frames[1].verdict).toMatchObject({ status: 2, identifier: 0, errorResponse: '080200000000' });
    expect(e.frames[1].verdict.hints.join('\n')).toContain('the 2 frames after it would be discarded');
    expect(e.accepted).toBe(false);
    expect(e.summary).toBe(
      `4 frames in ${a.length * 2 + b.length + c.length} bytes: 3 accepted, 1 rejected; frame at offset ${a.length} rejected (status 2 MissingDeviceToken): token length is 0: no device token`,
    );
    const text = formatExplanation(e);
    expect(text).toContain(`frame 2 at offset ${a.length}: command 1 (enhanced)`);
    expect(text).toContain('frame 4 at offset');
  });

  it('marks the failing line in red only when asked for color', () => {
    const e = explain(seedFrame(SEED_TOKEN_LITERAL));
    expect(formatExplanation(e, { color: true })).toMatch(/\u001b\[31m✗ /);
    const plain = formatExplanation(e);
    const line = plain.split('\n').find((l) => l.includes('✗'));
    expect(line).toMatch(/✗\s+35\s+8a d0\s+payload length\s+35,536 payload bytes follow/);
  });

  it('says that nothing was given for no bytes', () => {
    expect(explain(Buffer.alloc(0))).toEqual({ frames: [], accepted: false, summary: 'no bytes: nothing to explain' });
  });
});

describe('explain blames the field the sender must fix', () => {
  const token = Buffer.alloc(32, 0x5a);
  const id = (n: number) => Buffer.from([0, 0, 0, n]);

  it('a command-2 frame with a 2,100-byte payload: the payload, not the frame length, with its identifier', () => {
    const payload = Buffer.from(`{"aps":{"alert":"${'x'.repeat(2100 - 20)}"}}`);
    expect(payload.length).toBe(2100);
    const bytes = frame([
      [1, token],
      [2, payload],
      [3, id(42)],
      [4, Buffer.from([0, 0, 0, 0])],
      [5, Buffer.from([10])],
    ]);
    const f = explain(bytes).frames[0];
    const marked = f.fields.filter((x) => x.problem !== undefined);
    expect(marked.map((x) => [x.name, x.offset, x.problem])).toEqual([['item header', 5 + 35, 'payload 2,100 bytes, limit 2,048']]);
    expect(f.verdict).toMatchObject({ outcome: 'rejected', status: 7, identifier: 0, frameIdentifier: 42, errorResponse: '080700000000' });
    expect(f.verdict.reason).toMatch(/^payload 2,100 bytes, limit 2,048; frame length is 2156 bytes/);
    expect(f.verdict.hints).toContain(
      "the frame's identifier is 42, but the error response carries 0: the gateway judges the frame length at the header, before it reads the items",
    );
    const text = formatExplanation(explain(bytes));
    expect(text).toContain('REJECTED status 7 InvalidPayloadSize, identifier 42 (echoed as 0)');
    expect(text).toContain('^ payload 2,100 bytes, limit 2,048');
  });

  it('shows the identifier of an incomplete command-2 frame', () => {
    const whole = frame([
      [3, id(9)],
      [1, token],
      [2, Buffer.from('{"aps":{}}')],
    ]);
    const f = explain(whole.subarray(0, whole.length - 4)).frames[0];
    expect(f.verdict).toMatchObject({ outcome: 'incomplete', frameIdentifier: 9 });
    expect(formatExplanation(explain(whole.subarray(0, whole.length - 4)))).toContain('INCOMPLETE, identifier 9;');
  });

  it("strict mode's rejection says strict mode decided it, and that status 7 is the simulator's choice", () => {
    const bytes = frame([
      [1, token],
      [2, Buffer.from('not json')],
      [3, id(30)],
    ]);
    expect(explain(bytes).frames[0].verdict).toMatchObject({ outcome: 'accepted', frameIdentifier: 30 });
    const f = explain(bytes, { strict: true }).frames[0];
    expect(f.verdict).toMatchObject({ outcome: 'rejected', status: 7, identifier: 30, strictMode: true });
    expect(f.verdict.reason).toMatch(
      /^strict mode: payload is not valid JSON .*\(status 7 InvalidPayloadSize is the simulator's choice: Apple documented no status for it\)$/,
    );
    expect(formatExplanation(explain(bytes, { strict: true }))).toContain(
      'REJECTED status 7 InvalidPayloadSize (strict mode), identifier 30;',
    );
  });
});
