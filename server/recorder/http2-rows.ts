import type { Http2RecordDetails } from './record.js';

/**
 * An HTTP/2 record's request and response as name/value rows, the way the pages that show one
 * (the inspector and the HTML report) list them: pseudo-headers first, then the headers sent.
 */
export function http2Rows(d: Http2RecordDetails): { request: [string, string][]; response: [string, string][] } {
  const request: [string, string][] = [
    [':method', d.method],
    [':path', d.path],
    [':authority', d.authority ?? ''],
    ...Object.entries(d.headers).filter(([name]) => !name.startsWith(':')),
  ];
  const response: [string, string][] = [
    [':status', d.status === null ? 'no response' : String(d.status)],
    ['apns-id', d.apnsId],
  ];
  if (d.apnsUniqueId) response.push(['apns-unique-id', d.apnsUniqueId]);
  if (d.reason) response.push(['reason', d.reason]);
  if (d.timestamp !== null) response.push(['timestamp', `${d.timestamp} (${new Date(d.timestamp).toISOString()})`]);
  return { request, response };
}
