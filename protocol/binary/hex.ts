import { InputError } from '../../common/errors.js';

/**
 * Reads hex as people paste it: spaces, newlines, commas, `0x` prefixes and `//` or `#`
 * comments to the end of a line are ignored. Anything else must be hex digits, an even count.
 */
export function parseHexInput(text: string): Buffer {
  let digits = '';
  const lines = text.split(/\r?\n/);
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l];
    const comment = line.search(/\/\/|#/);
    const body = comment >= 0 ? line.slice(0, comment) : line;
    const re = /(0[xX])(?=[0-9a-fA-F])|[0-9a-fA-F]+|[\s,;:]+|[^0-9a-fA-F\s,;:]+/g;
    let match: RegExpExecArray | null;
    while ((match = re.exec(body)) !== null) {
      const token = match[0];
      if (match[1] !== undefined || /^[\s,;:]+$/.test(token)) continue;
      if (/^[0-9a-fA-F]+$/.test(token)) {
        digits += token;
        continue;
      }
      const where = lines.length > 1 ? `line ${l + 1}, character ${match.index + 1}` : `character ${match.index + 1}`;
      throw new InputError(`not hex: '${token}' at ${where}`);
    }
  }
  if (digits.length === 0) throw new InputError('no input: the hex was empty');
  if (digits.length % 2 !== 0) {
    throw new InputError(`odd number of hex digits (${digits.length}): every byte needs two, the last one has one`);
  }
  return Buffer.from(digits, 'hex');
}
