// The HTTP/2 load generator, in its own process: the same requests, the same way, to
// whichever server the bench points it at.
import { once } from 'node:events';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { serveHelper } from './processes.js';

export interface LoadJob {
  port: number;
  ca: string;
  /** `bearer <provider token>`. */
  authorization: string;
  topic: string;
  body: string;
  sessions: number;
  /** Requests in flight on each session. */
  concurrency: number;
  requests: number;
}

export interface LoadResult {
  ms: number;
  /** CPU time the generator used meanwhile: near `ms`, the generator was the limit. */
  cpuMs: number;
  /** Responses other than 200. */
  failures: number;
}

function request(session: ClientHttp2Session, job: LoadJob, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: `/3/device/${token}`,
      authorization: job.authorization,
      'apns-topic': job.topic,
      'apns-push-type': 'alert',
    });
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[constants.HTTP2_HEADER_STATUS])));
    stream.on('data', () => undefined);
    stream.on('end', () => resolve(status));
    stream.on('error', reject);
    stream.end(job.body);
  });
}

async function run(job: LoadJob): Promise<LoadResult> {
  const sessions = await Promise.all(
    Array.from({ length: job.sessions }, async () => {
      const session = connect(`https://127.0.0.1:${job.port}`, { ca: job.ca });
      session.on('error', () => undefined);
      await once(session, 'remoteSettings');
      return session;
    }),
  );
  const tokens = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
  let failures = 0;
  // One request first: a provider-token connection allows one stream until its token is taken.
  for (const s of sessions) if ((await request(s, job, tokens[0])) !== 200) failures++;
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const worker = async (s: ClientHttp2Session) => {
    while (next < job.requests) {
      const i = next++;
      if ((await request(s, job, tokens[i & 0xff])) !== 200) failures++;
    }
  };
  await Promise.all(sessions.flatMap((s) => Array.from({ length: job.concurrency }, () => worker(s))));
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await Promise.all(sessions.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return { ms, cpuMs: (used.user + used.system) / 1000, failures };
}

serveHelper(run);
