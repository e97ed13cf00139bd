import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Http2Client, type Http2ClientOptions } from '../../client/index.js';
import { signProviderToken } from '../../protocol/http2/index.js';
import { KeyStore } from '../../server/keys/index.js';
import { row, trace, type Bench } from './types.js';

const COUNT = 10_000;
const ROUNDS = 3;
/** Http2Client against a bare node:http2 session sending the same requests. */
const TARGET = 0.85;
const TEAM = 'BENCHTEAM1';
const KEY_ID = 'BENCHKEY01';
const TOPIC = 'com.example.app';

interface Target {
  port: number;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** A registered provider key's .p8 contents. */
  p8: string;
}

const token = (i: number) => (i % 256).toString(16).padStart(2, '0').repeat(32);
const payload = (i: number) => `{"aps":{"alert":"Benchmark notification ${String(i).padStart(6, '0')}","badge":1}}`;

/** The simulator in its own process, as a user runs it: `apns-mock serve` on free ports, with a provider key registered. */
async function startServe(state: string): Promise<{ child: ChildProcess; target: Target }> {
  const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--port',
      '0',
      '--feedback-port',
      '0',
      '--control-port',
      '0',
      '--http2-port',
      '0',
      '--state',
      state,
      '--json',
      '--max-records',
      '1000',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const facts = await new Promise<Record<string, string | number>>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.once('close', (code) => reject(new Error(`apns-mock serve exited with ${code}`)));
  });
  // Registered as `apns-mock keys` does: serve finds it on first use.
  const signing = await (await KeyStore.open(state)).create(TEAM, KEY_ID);
  const [cert, key, ca] = await Promise.all([facts.cert, facts.key, facts.ca].map((p) => readFile(String(p))));
  return { child, target: { port: Number(facts.http2), cert, key, ca, p8: signing.privateKey } };
}

/**
 * CPU time (user + system) of another process so far, in ms, from /proc (Linux); null elsewhere.
 * Clock ticks of 10 ms: enough for runs of half a second and more.
 */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: state is the 3rd field, utime the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** Runs `fn`, then traces its wall time and the CPU time of this process (the sender) and of serve. */
async function timed(what: string, server: ChildProcess, fn: () => Promise<number>): Promise<number> {
  const cpu = process.cpuUsage();
  const serverBefore = processCpuMs(server.pid);
  const started = performance.now();
  const rate = await fn();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const serverAfter = processCpuMs(server.pid);
  const cpus: Record<string, number> = { sender: (used.user + used.system) / 1000 };
  if (serverBefore !== null && serverAfter !== null) cpus.server = serverAfter - serverBefore;
  trace(`${what}, ${COUNT} requests`, ms, cpus);
  return rate;
}

/**
 * The floor: one node:http2 session, headers and bodies made beforehand, as many streams as
 * SETTINGS allow, no bookkeeping. With `authorization` (`bearer <provider token>`, signed once)
 * it is a token connection, no client certificate, and every request carries the token, as
 * Http2Client's do; its first request, which lifts the one-stream limit, is sent before the
 * clock starts, as Http2Client's is.
 */
async function bareSession(t: Target, authorization: string | null): Promise<number> {
  const credentials = authorization === null ? { cert: t.cert, key: t.key } : {};
  const session: ClientHttp2Session = connect(`https://127.0.0.1:${t.port}`, { ...credentials, ca: t.ca });
  session.on('error', () => undefined);
  await once(session, 'remoteSettings');
  const auth = authorization === null ? {} : { authorization };
  const headersOf = (i: number) => ({
    ':method': 'POST',
    ':path': `/3/device/${token(i)}`,
    'apns-topic': TOPIC,
    'apns-push-type': 'alert',
    ...auth,
  });
  if (authorization !== null) {
    const first = session.request(headersOf(0));
    const answered = once(first, 'response') as Promise<[IncomingHttpHeaders & IncomingHttpStatusHeader]>;
    const closed = once(first, 'close');
    first.resume();
    first.end(payload(0));
    const [[headers]] = await Promise.all([answered, closed]);
    if (headers[':status'] !== 200) throw new Error(`bare session: the provider token was answered ${headers[':status']}`);
    // The server raises the stream limit (SETTINGS) before it answers the first valid token.
    if ((session.remoteSettings.maxConcurrentStreams ?? 1) <= 1) await once(session, 'remoteSettings');
  }
  const limit = session.remoteSettings.maxConcurrentStreams ?? 1;
  const requests = Array.from({ length: COUNT }, (_, i) => ({ headers: headersOf(i), body: Buffer.from(payload(i)) }));
  const started = performance.now();
  let next = 0;
  let done = 0;
  let accepted = 0;
  await new Promise<void>((resolve) => {
    const start = () => {
      const r = requests[next++];
      const stream = session.request(r.headers);
      stream.on('response', (h) => {
        if (h[':status'] === 200) accepted++;
      });
      stream.resume();
      stream.on('close', () => {
        if (++done === COUNT) resolve();
        else if (next < COUNT) start();
      });
      stream.end(r.body);
    };
    for (let i = 0; i < Math.min(limit, COUNT); i++) start();
  });
  const seconds = (performance.now() - started) / 1000;
  session.destroy();
  const kind = authorization === null ? 'certificate' : 'provider token';
  if (accepted !== COUNT) throw new Error(`bare session (${kind}): only ${accepted} of ${COUNT} requests were accepted`);
  return COUNT / seconds;
}

/** Http2Client, one connection, every notification handed over at once. */
async function client(t: Target, auth: 'certificate' | 'token'): Promise<number> {
  const credentials: Partial<Http2ClientOptions> =
    auth === 'certificate' ? { cert: t.cert, key: t.key } : { token: { teamId: TEAM, keyId: KEY_ID, key: t.p8 } };
  const sender = new Http2Client({ host: '127.0.0.1', port: t.port, ca: t.ca, ...credentials });
  // The connection and (with tokens) the first stream, outside the timing, as in the bare case.
  await sender.send({ token: token(0), topic: TOPIC, pushType: 'alert', payload: payload(0) });
  const started = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: COUNT }, (_, i) => sender.send({ token: token(i), topic: TOPIC, pushType: 'alert', payload: payload(i) })),
  );
  const seconds = (performance.now() - started) / 1000;
  await sender.close();
  const accepted = outcomes.filter((o) => o.status === 'accepted').length;
  if (accepted !== COUNT) throw new Error(`Http2Client (${auth}): only ${accepted} of ${COUNT} notifications were accepted`);
  return COUNT / seconds;
}

export const http2ClientBench: Bench = {
  name: 'http2-client',
  describe: `Http2Client sending ${COUNT.toLocaleString('en-US')} notifications on one connection to apns-mock serve (another process), against a bare node:http2 session sending the same requests (with a certificate, and with one provider token)`,
  async run() {
    const state = await mkdtemp(join(tmpdir(), 'apns-mock-bench-h2-'));
    const { child, target } = await startServe(state);
    try {
      // A provider token made once, as Http2Client makes one for its connections.
      const authorization = `bearer ${await signProviderToken({ teamId: TEAM, keyId: KEY_ID, privateKey: target.p8 })}`;
      const best = { bareCertificate: 0, certificate: 0, bareToken: 0, token: 0 };
      // Interleaved rounds, the best of each, so drift in the machine's speed hits them alike.
      for (let round = 0; round < ROUNDS; round++) {
        const run = (what: string, fn: () => Promise<number>) => timed(what, child, fn);
        best.bareCertificate = Math.max(best.bareCertificate, await run('bare session, certificate', () => bareSession(target, null)));
        best.certificate = Math.max(best.certificate, await run('Http2Client, certificate', () => client(target, 'certificate')));
        best.bareToken = Math.max(best.bareToken, await run('bare session, provider token', () => bareSession(target, authorization)));
        best.token = Math.max(best.token, await run('Http2Client, provider token', () => client(target, 'token')));
      }
      return [
        row('bare node:http2 session, certificate, prepared requests', best.bareCertificate, 'requests/s', null),
        row('Http2Client, certificate, 1 connection', best.certificate, 'requests/s', best.bareCertificate, TARGET),
        row('bare node:http2 session, provider token, prepared requests', best.bareToken, 'requests/s', null),
        row('Http2Client, provider token, 1 connection', best.token, 'requests/s', best.bareToken, TARGET),
      ];
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
      await rm(state, { recursive: true, force: true });
    }
  },
};
