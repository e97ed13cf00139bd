import type { Argv, CommandModule } from 'yargs';
import { parseHexInput } from '../../protocol/binary/hex.js';
import { UsageError } from '../shared/usage.js';

interface DecodeArgs {
  hex?: string[];
  file?: string;
  binary: boolean;
  json: boolean;
  strict: boolean;
}


async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readInput(args: DecodeArgs): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  const hexArgs = args.hex ?? [];
  if (hexArgs.length > 0 && args.file !== undefined) throw new UsageError('give the frames either as hex arguments or with --file, not both');
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

export const decodeCommand: CommandModule<object, DecodeArgs> = {
  command: 'decode [hex..]',
  describe: "Explain binary-protocol bytes field by field, with the gateway's verdict",
  builder: (yargs: Argv) =>
    yargs
      .positional('hex', { type: 'string', array: true, describe: 'the bytes as hex (spaces, newlines, commas and 0x are ignored)' })
      .option('file', { alias: 'f', type: 'string', describe: 'read the bytes from a file (hex, or raw with --binary)' })
      .option('binary', { type: 'boolean', default: false, describe: 'the input is raw bytes, not hex (from --file or stdin)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the explanation as JSON' })
      .option('strict', { type: 'boolean', default: false, describe: 'judge payload warnings as strict mode does (status 7)' })
      .example('$0 decode 0000207...', 'explain a frame given as hex')
      .example('xxd -p capture.bin | $0 decode', 'explain hex piped on stdin')
      .example('$0 decode --binary -f capture.bin --json', 'raw bytes, explained as JSON') as unknown as Argv<DecodeArgs>,
  handler: async (args) => {
    const bytes = await readInput(args);
    const { explain, formatExplanation } = await import('../../protocol/binary/explain.js');
    const explanation = explain(bytes, { strict: args.strict });
    const text = args.json ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation, { color: process.stdout.isTTY === true });
    process.stdout.write(text);
    process.exitCode = explanation.accepted ? 0 : 1;
  },
};
