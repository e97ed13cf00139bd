import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Http2Client, type Http2ClientOptions } from '../../client/index.js';
import { KeyStore } from '../../server/keys/index.js';
import { row, type Bench } from './types.js';

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

/** The floor: one node:http2 session, headers and bodies made beforehand, as many streams as SETTINGS allow, no bookkeeping. */
async function bareSession(t: Target): Promise<number> {
  const session: ClientHttp2Session = connect(`https://127.0.0.1:${t.port}`, { cert: t.cert, key: t.key, ca: t.ca });
  session.on('error', () => undefined);
  await once(session, 'remoteSettings');
  const limit = session.remoteSettings.maxConcurrentStreams ?? 1;
  const requests = Array.from({ length: COUNT }, (_, i) => ({
    headers: { ':method': 'POST', ':path': `/3/device/${token(i)}`, 'apns-topic': TOPIC, 'apns-push-type': 'alert' },
    body: Buffer.from(payload(i)),
  }));
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
  if (accepted !== COUNT) throw new Error(`bare session: only ${accepted} of ${COUNT} requests were accepted`);
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
  describe: `Http2Client sending ${COUNT.toLocaleString('en-US')} notifications on one connection to apns-mock serve (another process), against a bare node:http2 session sending the same requests`,
  async run() {
    const state = await mkdtemp(join(tmpdir(), 'apns-mock-bench-h2-'));
    const { child, target } = await startServe(state);
    try {
      const best = { bare: 0, certificate: 0, token: 0 };
      // Interleaved rounds, the best of each, so drift in the machine's speed hits them alike.
      for (let round = 0; round < ROUNDS; round++) {
        best.bare = Math.max(best.bare, await bareSession(target));
        best.certificate = Math.max(best.certificate, await client(target, 'certificate'));
        best.token = Math.max(best.token, await client(target, 'token'));
      }
      return [
        row('bare node:http2 session, certificate, prepared requests', best.bare, 'requests/s', null),
        row('Http2Client, certificate, 1 connection', best.certificate, 'requests/s', best.bare, TARGET),
        row('Http2Client, provider token, 1 connection', best.token, 'requests/s', best.bare, TARGET),
      ];
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
      await rm(state, { recursive: true, force: true });
    }
  },
};
