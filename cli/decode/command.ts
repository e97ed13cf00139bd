import type { Argv, CommandModule } from 'yargs';
import { parseHexInput } from '../../protocol/binary/hex.js';
import { UsageError } from '../shared/usage.js';

interface DecodeArgs {
  hex?: string[];
  file?: string;
  binary: boolean;
  json: boolean;
  strict: boolean;
  http2?: string;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readInput(args: DecodeArgs): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  const hexArgs = args.hex ?? [];
  if (hexArgs.length > 0 && args.file !== undefined)
    throw new UsageError('give the frames either as hex arguments or with --file, not both');
  if (hexArgs.length > 0 && args.binary) throw new UsageError('--binary reads raw bytes from --file or stdin; hex arguments are text');
  let raw: Buffer;
  if (hexArgs.length > 0) {
    raw = Buffer.from(hexArgs.join(' '), 'utf8');
  } else if (args.file !== undefined) {
    try {
      raw = await readFile(args.file);
    } catch (error) {
      throw new UsageError(`cannot read --file ${args.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else {
    if (process.stdin.isTTY) throw new UsageError('no input: give hex as an argument, name a file with --file, or pipe the bytes to stdin');
    raw = await readStdin();
  }
  if (args.binary) {
    if (raw.length === 0) throw new UsageError('no input: no bytes arrived');
    return raw;
  }
  return parseHexInput(raw.toString('utf8'));
}

/** `--http2 FILE`: an HTTP/2 request (or a record) as JSON, each of Apple's checks listed; exit 0 when they pass. */
async function decodeHttp2(args: DecodeArgs, file: string): Promise<void> {
  if ((args.hex ?? []).length > 0 || args.file !== undefined || args.binary || args.strict)
    throw new UsageError('--http2 takes the request as JSON from its FILE (or - for stdin): no hex, --file, --binary or --strict');
  let text: string;
  // yargs gives a lone `-` as the empty string.
  if (file === '-' || file === '') {
    if (process.stdin.isTTY) throw new UsageError('--http2 -: pipe the request as JSON to stdin');
    text = (await readStdin()).toString('utf8');
  } else {
    const { readFile } = await import('node:fs/promises');
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --http2 ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const { explainHttp2Request, formatHttp2Explanation, http2RequestFromJson } = await import('../../protocol/http2/explain.js');
  let request;
  try {
    request = http2RequestFromJson(JSON.parse(text));
  } catch (error) {
    throw new UsageError(
      `--http2 ${file || '-'}: ${error instanceof SyntaxError ? `not JSON (${error.message})` : (error as Error).message}`,
    );
  }
  const explanation = explainHttp2Request(request);
  const out = args.json
    ? `${JSON.stringify(explanation, null, 2)}\n`
    : formatHttp2Explanation(explanation, { color: process.stdout.isTTY === true });
  process.stdout.write(out);
  process.exitCode = explanation.outcome === 'accepted' ? 0 : 1;
}

export const decodeCommand: CommandModule<object, DecodeArgs> = {
  command: 'decode [hex..]',
  describe: "Explain binary-protocol bytes field by field, or an HTTP/2 request check by check (--http2), with the gateway's verdict",
  builder: (yargs: Argv) =>
    yargs
      .positional('hex', { type: 'string', array: true, describe: 'the bytes as hex (spaces, newlines, commas and 0x are ignored)' })
      .option('file', { alias: 'f', type: 'string', describe: 'read the bytes from a file (hex, or raw with --binary)' })
      .option('binary', { type: 'boolean', default: false, describe: 'the input is raw bytes, not hex (from --file or stdin)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the explanation as JSON' })
      .option('strict', { type: 'boolean', default: false, describe: 'judge payload warnings as strict mode does (status 7)' })
      .option('http2', {
        type: 'string',
        describe: 'explain an HTTP/2 request given as JSON (method, path, headers, body; or a record) from FILE, - for stdin',
      })
      .example('$0 decode 0000207...', 'explain a frame given as hex')
      .example('xxd -p capture.bin | $0 decode', 'explain hex piped on stdin')
      .example('$0 decode --binary -f capture.bin --json', 'raw bytes, explained as JSON')
      .example(
        "curl -s 'localhost:2198/records?protocol=http2&outcome=rejected&limit=1' | jq '.[0]' | $0 decode --http2 -",
        'a record pasted back',
      ),
  handler: async (args) => {
    if (Array.isArray(args.http2)) throw new UsageError(`--http2 was given ${args.http2.length} times; give it once`);
    if (args.http2 !== undefined) return decodeHttp2(args, args.http2);
    const bytes = await readInput(args);
    const { explain, formatExplanation } = await import('../../protocol/binary/explain.js');
    const explanation = explain(bytes, { strict: args.strict });
    const text = args.json
      ? `${JSON.stringify(explanation, null, 2)}\n`
      : formatExplanation(explanation, { color: process.stdout.isTTY === true });
    process.stdout.write(text);
    process.exitCode = explanation.accepted ? 0 : 1;
  },
};
