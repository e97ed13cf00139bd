import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BinaryClient, type SendOutcome } from '../../client/index.js';
import { readRecordsFile } from '../../server/recorder/reader.js';

export interface SoakOptions {
  /** Clients sending at once, each on its own TLS connection (and the ones it reconnects). */
  connections: number;
  /** Notifications each client sends. */
  perConnection: number;
  /** Share of notifications that meet a fault: rejects, shutdowns, silent closes and resets in equal parts. */
  faultRate: number;
  seed: number;
  /** Clients still sending then are destroyed (their notifications fail) and the run reports it. */
  timeLimitMs: number;
  /** GET /stats is polled this often, from a worker thread, while the load runs. Default 100 ms. */
  pollIntervalMs?: number;
  /** The clients' connectTimeoutMs. Default 10,000 ms (the client's default). */
  connectTimeoutMs?: number;
  /** Reconnect with jitter, up to 2 s apart, 20 tries, as many clients should; default: 10..200 ms in step, 5 tries, which makes a herd. */
  jitter?: boolean;
  onProgress?: (line: string) => void;
}

export interface Latency {
  polls: number;
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  /** Polls that got no answer (error or non-200). */
  failed: number;
  /** The five slowest polls: when they started (seconds into the run) and how long they took. */
  slowest: { atS: number; ms: number }[];
}

export interface SoakReport {
  notifications: number;
  connections: number;
  faultRate: number;
  elapsedMs: number;
  notificationsPerSecond: number;
  stoppedByTime: boolean;
  /** Final outcomes the clients reported. */
  outcomes: { accepted: number; rejected: number; failed: number };
  /** Why notifications failed: error code and message, with counts. */
  failures: Record<string, number>;
  /** The gateway's own counts at the end (GET /stats). */
  gateway: { opened: number; handshakeFailures: number };
  /** Notifications without a final outcome, or with more than one: must be 0. */
  unsettled: number;
  settledTwice: number;
  /** Client connections (reconnections included). */
  clientConnections: number;
  /** Faults the gateway injected, by rule. */
  faults: Record<string, number>;
  records: number;
  recordsByOutcome: Record<string, number>;
  /** Records whose payload names no notification sent (markers aside): must be 0. */
  unknownRecords: number;
  /** The JSONL file and the control API's count agree. */
  recordsReported: number;
  /** Accepted outcomes with no accepted record: must be 0. */
  lost: number;
  /** Rejected outcomes without the matching rejected record: must be 0. */
  rejectionsUnrecorded: number;
  /** Notifications not flagged possibleDuplicate whose records disagree with their outcome (accepted twice, or accepted when rejected): must be 0. */
  unflaggedWrong: number;
  /** Acceptances beyond the first. */
  duplicates: number;
  /**
   * Of them, after an acceptance on a connection no close or drop rule ended: the gateway
   * answered there, but the client saw no answer (under full CPU, a reset after the gateway's
   * linger can reach it before the error response is read) and flagged what it resent.
   */
  duplicatesNotSilent: number;
  flaggedPossibleDuplicate: number;
  /** Final outcome matches the records exactly once (accepted once, or rejected and never accepted). */
  exactlyOnce: number;
  /** Connections a close or drop rule ended without an answer. */
  silentConnections: number;
  control: Latency;
}

const UNSET = 0;
const STATUS = { accepted: 1, rejected: 2, failed: 3 } as const;

/** The built CLI: next to this module in dist/, or dist/ from the sources. */
function cliPath(): string {
  for (const rel of ['../../cli/main.js', '../../dist/cli/main.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('the built CLI (dist/cli/main.js) is missing: run npm run build');
}

interface Serve {
  child: ChildProcess;
  facts: { gateway: number; control: number; cert: string; key: string; ca: string };
  stderr: () => string;
}

async function startServe(dir: string, records: string, maxRecords: number): Promise<Serve> {
  const args = [
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
    join(dir, 'state'),
    '--json',
    '--record',
    records,
    '--max-records',
    String(maxRecords),
  ];
  const child = spawn(process.execPath, [cliPath(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const facts = await new Promise<Serve['facts']>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)));
    });
    child.once('close', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, facts, stderr: () => stderr };
}

/** Polls GET /stats from its own event loop, so the load in this thread does not delay the measurement. */
function startPoller(url: string, intervalMs: number, startedAt: number): { stop(): Promise<Latency> } {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const latencies = [];
    let failed = 0;
    let running = true;
    parentPort.on('message', () => { running = false; });
    (async () => {
      // Bounded: at most 100,000 polls.
      for (let i = 0; running && i < 100000; i++) {
        const t0 = performance.now();
        try {
          const r = await fetch(workerData.url);
          await r.text();
          if (r.status !== 200) failed++;
        } catch { failed++; }
        latencies.push([Date.now(), performance.now() - t0]);
        await new Promise((r) => setTimeout(r, workerData.intervalMs));
      }
      parentPort.postMessage({ latencies, failed });
    })();
  `;
  const worker = new Worker(code, { eval: true, workerData: { url, intervalMs } });
  const done = once(worker, 'message') as Promise<[{ latencies: [number, number][]; failed: number }]>;
  return {
    async stop() {
      worker.postMessage('stop');
      const [{ latencies, failed }] = await done;
      await worker.terminate();
      const sorted = latencies.map(([, ms]) => ms).sort((a, b) => a - b);
      const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
      const slowest = [...latencies]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([end, ms]) => ({ atS: Math.round((end - ms - startedAt) / 100) / 10, ms: Math.round(ms) }));
      return { polls: sorted.length, maxMs: sorted.at(-1) ?? 0, p99Ms: at(0.99), p50Ms: at(0.5), failed, slowest };
    },
  };
}

const SEQ = /"c":(\d+),"n":(\d+)/;

/**
 * Many clients over real TLS to `apns-mock serve --record` in another process, with seeded
 * faults, then the clients' outcomes checked against every record in the JSONL file.
 */
export async function soak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const total = options.connections * options.perConnection;
  const dir = mkdtempSync(join(tmpdir(), 'apns-mock-soak-'));
  const recordsFile = join(dir, 'records.jsonl');
  // The JSONL file holds every record; memory keeps serve's default 100,000, as a user runs it.
  const serve = await startServe(dir, recordsFile, 100_000);
  const controlUrl = `http://127.0.0.1:${serve.facts.control}`;
  const part = options.faultRate / 4;
  const rules = [
    { id: 'reject', match: { probability: part }, action: { type: 'reject', status: 8 }, seed: options.seed + 1 },
    { id: 'shutdown', match: { probability: part }, action: { type: 'shutdown' }, seed: options.seed + 2 },
    { id: 'close', match: { probability: part }, action: { type: 'close' }, seed: options.seed + 3 },
    { id: 'drop', match: { probability: part }, action: { type: 'drop' }, seed: options.seed + 4 },
  ];
  const posted = await fetch(`${controlUrl}/rules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rules),
  });
  if (posted.status !== 201) throw new Error(`POST /rules: ${posted.status} ${await posted.text()}`);

  const status = new Uint8Array(total);
  const settleCount = new Uint8Array(total);
  const flagged = new Uint8Array(total);
  const rejectedCode = new Uint8Array(total);
  const rejectedId = new Uint32Array(total);
  const failures: Record<string, number> = {};
  const tls = {
    cert: readFileSync(serve.facts.cert, 'utf8'),
    key: readFileSync(serve.facts.key, 'utf8'),
    ca: readFileSync(serve.facts.ca, 'utf8'),
  };
  const clients: BinaryClient[] = [];
  const poller = startPoller(`${controlUrl}/stats`, options.pollIntervalMs ?? 100, started);
  let settled = 0;
  const progress = setInterval(
    () =>
      options.onProgress?.(
        `  ${settled.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} settled after ${((Date.now() - started) / 1000).toFixed(0)} s`,
      ),
    5000,
  );
  let stoppedByTime = false;
  const timer = setTimeout(() => {
    stoppedByTime = true;
    for (const c of clients) c.destroy();
  }, options.timeLimitMs);

  const runClient = async (c: number): Promise<void> => {
    const client = new BinaryClient({
      host: '127.0.0.1',
      port: serve.facts.gateway,
      ...tls,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnect: options.jitter
        ? { initialDelayMs: 10, maxDelayMs: 2000, jitter: true, retries: 20 }
        : { initialDelayMs: 10, maxDelayMs: 200 },
    });
    clients.push(client);
    const outcomes: Promise<void>[] = [];
    for (let n = 0; n < options.perConnection && !stoppedByTime; n++) {
      const i = c * options.perConnection + n;
      let enqueued;
      try {
        enqueued = await client.enqueue({ token: 'aa'.repeat(32), payload: `{"aps":{"alert":"soak"},"c":${c},"n":${n}}` });
      } catch {
        break;
      }
      outcomes.push(
        enqueued.outcome.then((o: SendOutcome) => {
          settleCount[i]++;
          settled++;
          status[i] = STATUS[o.status];
          if (o.possibleDuplicate) flagged[i] = 1;
          if (o.status === 'failed') {
            const why = `${(o.error as NodeJS.ErrnoException).code ?? o.error.name}: ${o.error.message.slice(0, 160)}`;
            failures[why] = (failures[why] ?? 0) + 1;
          }
          if (o.status === 'rejected') {
            rejectedCode[i] = o.code;
            rejectedId[i] = o.identifier;
          }
        }),
      );
    }
    await client.close().catch(() => undefined);
    await Promise.all(outcomes);
  };
  await Promise.all(Array.from({ length: options.connections }, (_, c) => runClient(c)));
  clearTimeout(timer);
  clearInterval(progress);
  const elapsedMs = Date.now() - started;
  const control = await poller.stop();
  const stats = (await (await fetch(`${controlUrl}/stats`)).json()) as {
    records: { total: number };
    connections: { opened: number; handshakeFailures: number };
  };
  const clientConnections = clients.reduce((sum, c) => sum + c.stats().connections, 0);
  const stopping = once(serve.child, 'close');
  serve.child.kill('SIGTERM');
  await stopping;

  // The records, streamed from the JSONL file: only what the checks need is kept.
  const acceptedCount = new Uint8Array(total);
  const firstAcceptedOn = new Uint32Array(total);
  const earlierAcceptances: [number, number][] = [];
  const rejectedRecords = new Map<number, [number, number][]>();
  const silent = new Set<number>();
  const faults: Record<string, number> = {};
  const recordsByOutcome: Record<string, number> = {};
  let records = 0;
  let unknownRecords = 0;
  await readRecordsFile(recordsFile, {
    onRecord: (r) => {
      records++;
      recordsByOutcome[r.outcome] = (recordsByOutcome[r.outcome] ?? 0) + 1;
      if (r.rule !== null) faults[r.rule] = (faults[r.rule] ?? 0) + 1;
      if (r.rule === 'close' || r.rule === 'drop') silent.add(r.connectionId);
      const m = r.payload === null ? null : SEQ.exec(r.payload);
      if (m === null) {
        // Flush markers (token length 0, status 2) carry no payload; a frame cut by a reset may have lost its own.
        const marker = r.status === 2 && (r.token ?? '') === '' && r.outcome === 'rejected';
        if (!marker && r.outcome !== 'discarded' && r.outcome !== 'incomplete') unknownRecords++;
        return;
      }
      const i = Number(m[1]) * options.perConnection + Number(m[2]);
      if (i >= total) {
        unknownRecords++;
        return;
      }
      if (r.outcome === 'accepted') {
        if (acceptedCount[i] > 0) earlierAcceptances.push([i, firstAcceptedOn[i]]);
        else firstAcceptedOn[i] = r.connectionId;
        acceptedCount[i] = Math.min(255, acceptedCount[i] + 1);
      } else if (r.outcome === 'rejected' && r.status !== null && r.identifier !== null) {
        const list = rejectedRecords.get(i) ?? [];
        list.push([r.status, r.identifier]);
        rejectedRecords.set(i, list);
      }
    },
  });
  rmSync(dir, { recursive: true, force: true });

  const report: SoakReport = {
    notifications: total,
    connections: options.connections,
    faultRate: options.faultRate,
    elapsedMs,
    notificationsPerSecond: Math.round(total / (elapsedMs / 1000)),
    stoppedByTime,
    outcomes: { accepted: 0, rejected: 0, failed: 0 },
    failures,
    gateway: { opened: stats.connections.opened, handshakeFailures: stats.connections.handshakeFailures },
    unsettled: 0,
    settledTwice: 0,
    clientConnections,
    faults,
    records,
    recordsByOutcome,
    unknownRecords,
    recordsReported: stats.records.total,
    lost: 0,
    rejectionsUnrecorded: 0,
    unflaggedWrong: 0,
    duplicates: 0,
    duplicatesNotSilent: 0,
    flaggedPossibleDuplicate: 0,
    exactlyOnce: 0,
    silentConnections: silent.size,
    control,
  };
  for (const [, connection] of earlierAcceptances) if (!silent.has(connection)) report.duplicatesNotSilent++;
  for (let i = 0; i < total; i++) {
    if (settleCount[i] === 0) report.unsettled++;
    if (settleCount[i] > 1) report.settledTwice++;
    if (flagged[i]) report.flaggedPossibleDuplicate++;
    const accepted = acceptedCount[i];
    if (status[i] === STATUS.accepted) {
      report.outcomes.accepted++;
      if (accepted === 0) report.lost++;
      report.duplicates += Math.max(0, accepted - 1);
      if (accepted === 1) report.exactlyOnce++;
      else if (accepted > 1 && !flagged[i]) report.unflaggedWrong++;
    } else if (status[i] === STATUS.rejected) {
      report.outcomes.rejected++;
      const match = (rejectedRecords.get(i) ?? []).some(([s, id]) => s === rejectedCode[i] && id === rejectedId[i]);
      if (!match) report.rejectionsUnrecorded++;
      report.duplicates += accepted;
      if (accepted === 0) report.exactlyOnce++;
      else if (!flagged[i]) report.unflaggedWrong++;
    } else if (status[i] === STATUS.failed) {
      report.outcomes.failed++;
    } else if (status[i] === UNSET && settleCount[i] === 0) {
      // Counted in unsettled.
    }
  }
  return report;
}

/** The report as a few lines a person reads. */
export function formatSoak(r: SoakReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    `${n(r.connections)} connections x ${n(r.notifications / r.connections)} notifications = ${n(r.notifications)}, ${(r.faultRate * 100).toFixed(2)}% faults, in ${(r.elapsedMs / 1000).toFixed(1)} s (${n(r.notificationsPerSecond)}/s)${r.stoppedByTime ? ' STOPPED BY THE TIME LIMIT' : ''}`,
    `  outcomes: ${n(r.outcomes.accepted)} accepted, ${n(r.outcomes.rejected)} rejected, ${n(r.outcomes.failed)} failed; unsettled ${n(r.unsettled)}, settled twice ${n(r.settledTwice)}; ${n(r.clientConnections)} client connections`,
    ...Object.entries(r.failures)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([why, count]) => `  failed: ${n(count)} x ${why}`),
    `  gateway: ${n(r.gateway.opened)} connections opened, ${n(r.gateway.handshakeFailures)} handshake failures`,
    `  faults injected: ${Object.entries(r.faults)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ')}; ${n(r.silentConnections)} connections closed silently`,
    `  records: ${n(r.records)} in the JSONL file (${n(r.recordsReported)} reported by the control API): ${Object.entries(
      r.recordsByOutcome,
    )
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ')}; unknown ${n(r.unknownRecords)}`,
    `  against the records: lost ${n(r.lost)}, rejections unrecorded ${n(r.rejectionsUnrecorded)}, unflagged wrong ${n(r.unflaggedWrong)}; exactly once ${n(r.exactlyOnce)}; ${n(r.duplicates)} duplicate acceptances (${n(r.duplicatesNotSilent)} not after a silent close), ${n(r.flaggedPossibleDuplicate)} flagged possibleDuplicate`,
    `  control API GET /stats while loaded: ${n(r.control.polls)} polls, p50 ${r.control.p50Ms.toFixed(1)} ms, p99 ${r.control.p99Ms.toFixed(1)} ms, max ${r.control.maxMs.toFixed(1)} ms, ${n(r.control.failed)} failed; slowest at ${r.control.slowest.map((x) => `${x.atS} s (${x.ms} ms)`).join(', ')}`,
  ].join('\n');
}
