/**
 * The simulator's own response header with its explanation of an answer (not Apple's: APNs
 * sends no such header). HTTP field values are visible ASCII and spaces (RFC 9110, 5.5), so the
 * text is folded to ASCII and cut to a bounded length.
 */
export const EXPLAIN_HEADER = 'x-apns-mock-reason';
export const EXPLAIN_HEADER_MAX = 512;

export function explanationHeaderValue(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/…/g, '...')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  return ascii.length <= EXPLAIN_HEADER_MAX ? ascii : `${ascii.slice(0, EXPLAIN_HEADER_MAX - 3)}...`;
}
