import { connect, createSecureContext, type SecureContext } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startSimulator, type BinaryConnectionSummary, type Simulator, type StoredRecord } from '../../server/index.js';
import { MUTATION_KINDS, Mutator, seeded, type MutationKind } from './mutate.js';

export interface FuzzOptions {
  /** Frames to send in all. */
  frames: number;
  /** Frames written on each connection. */
  perConnection: number;
  /** Connections open at once. */
  concurrency: number;
  seed: number;
  /** No new connection starts after this. */
  timeLimitMs: number;
  /** Records the simulator keeps (older ones go): memory must stay bounded all the same. */
  maxRecords?: number;
  /** How long a connection may take to end once the client has closed its side. */
  endTimeoutMs?: number;
  onProgress?: (report: FuzzReport) => void;
}

export interface FuzzReport {
  frames: number;
  bytes: number;
  connections: number;
  byKind: Record<MutationKind, number>;
  /** How connections ended, as the client saw it. */
  ends: {
    /** An error response (6 bytes, command 8), then the close. */
    errorResponse: number;
    /** Closed with nothing written back. */
    closed: number;
    /** Written back anything but one error response: must stay 0. */
    unexpectedReply: number;
    /** Not closed within the end timeout: must stay 0. */
    hung: number;
  };
  /** Connections the gateway wrote no record for: must stay 0 (every one sent at least one byte). */
  connectionsWithoutRecord: number;
  records: number;
  recordsByOutcome: Record<string, number>;
  /** Bytes after an unknown command byte, counted but not framed. */
  unparsedBytes: number;
  internalErrors: number;
  uncaughtExceptions: number;
  handshakeFailures: number;
  heapBeforeMb: number;
  heapPeakMb: number;
  heapAfterMb: number;
  /** Connections the gateway still lists once everything ended: must be 0. */
  openAfter: number;
  elapsedMs: number;
  stoppedByTime: boolean;
}

let collect: (() => void) | null | undefined;
/** A full collection, when V8 lets one be asked for (the flag can be set at run time). */
export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  collect?.();
}

export async function heapMb(): Promise<number> {
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setImmediate(r));
    collectGarbage();
  }
  return process.memoryUsage().heapUsed / 1048576;
}

interface ConnectionEnd {
  received: Buffer;
  closed: boolean;
}

/** One connection: the mutants written in a few random pieces, our side closed, then watched until the gateway ends it. */
function fuzzConnection(
  sim: Simulator,
  context: SecureContext,
  payload: Buffer,
  cuts: number[],
  endTimeoutMs: number,
): Promise<ConnectionEnd> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: sim.ports.gateway, servername: 'localhost', secureContext: context });
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('secureConnect', () => {
      let from = 0;
      for (const at of [...cuts, payload.length]) {
        if (socket.destroyed) break;
        if (at > from) socket.write(payload.subarray(from, at));
        from = Math.max(from, at);
      }
      socket.end();
      timer = setTimeout(() => {
        resolve({ received: Buffer.concat(chunks), closed: false });
        socket.destroy();
      }, endTimeoutMs);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closed: true });
    });
  });
}

/**
 * Sends mutated golden frames and random bytes to a simulator's binary gateway over real TLS,
 * and checks that every connection ends in a defined way, no fault escapes, and memory stays
 * bounded with the records capped.
 */
export async function fuzzGateway(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const endTimeoutMs = options.endTimeoutMs ?? 10_000;
  const sim = await startSimulator({ controlPort: false, http2Port: false, maxRecords: options.maxRecords ?? 5000 });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  let internalErrors = 0;
  sim.gateway.on('internalError', () => internalErrors++);
  const recordsById = new Map<number, number>();
  const recordsByOutcome: Record<string, number> = {};
  let records = 0;
  sim.recorder.on('record', (record: StoredRecord) => {
    records++;
    recordsByOutcome[record.outcome] = (recordsByOutcome[record.outcome] ?? 0) + 1;
    recordsById.set(record.connection.id, (recordsById.get(record.connection.id) ?? 0) + 1);
  });
  let unparsedBytes = 0;
  let withoutRecord = 0;
  // A connection's records are all written before its 'disconnect' (the cut-off frame's in its close).
  sim.gateway.on('disconnect', (summary: BinaryConnectionSummary) => {
    unparsedBytes += summary.unparsedBytes;
    if (summary.bytesReceived > 0 && (recordsById.get(summary.id) ?? 0) === 0) withoutRecord++;
    recordsById.delete(summary.id);
  });
  const context = createSecureContext({ cert: sim.credentials.cert, key: sim.credentials.key, ca: sim.credentials.ca });
  const mutator = new Mutator(options.seed);
  const cutRandom = seeded(options.seed ^ 0x5eed);

  const report: FuzzReport = {
    frames: 0,
    bytes: 0,
    connections: 0,
    byKind: Object.fromEntries(MUTATION_KINDS.map((k) => [k, 0])) as Record<MutationKind, number>,
    ends: { errorResponse: 0, closed: 0, unexpectedReply: 0, hung: 0 },
    connectionsWithoutRecord: 0,
    records: 0,
    recordsByOutcome,
    unparsedBytes: 0,
    internalErrors: 0,
    uncaughtExceptions: 0,
    handshakeFailures: 0,
    heapBeforeMb: await heapMb(),
    heapPeakMb: 0,
    heapAfterMb: 0,
    openAfter: 0,
    elapsedMs: 0,
    stoppedByTime: false,
  };
  report.heapPeakMb = report.heapBeforeMb;
  let lastProgress = Date.now();

  const worker = async () => {
    while (report.frames < options.frames) {
      if (Date.now() - started > options.timeLimitMs) {
        report.stoppedByTime = true;
        return;
      }
      const count = Math.min(options.perConnection, options.frames - report.frames);
      report.frames += count;
      const parts: Buffer[] = [];
      // One connection in four carries accepted frames and a single mutant last, so its
      // mutant meets an open connection (incomplete frames, late rejections); the others mix.
      const tail = cutRandom() < 0.25;
      for (let i = 0; i < count; i++) {
        if (tail && i < count - 1) {
          parts.push(mutator.accepted());
          report.byKind.golden++;
          continue;
        }
        const mutant = mutator.next();
        report.byKind[mutant.kind]++;
        parts.push(mutant.bytes);
      }
      const payload = Buffer.concat(parts);
      report.bytes += payload.length;
      const cuts = Array.from({ length: Math.floor(cutRandom() * 4) }, () => Math.floor(cutRandom() * payload.length)).sort(
        (a, b) => a - b,
      );
      report.connections++;
      const end = await fuzzConnection(sim, context, payload, cuts, endTimeoutMs);
      if (!end.closed) report.ends.hung++;
      else if (end.received.length === 0) report.ends.closed++;
      else if (end.received.length === 6 && end.received[0] === 8) report.ends.errorResponse++;
      else report.ends.unexpectedReply++;
      if (report.connections % 200 === 0) report.heapPeakMb = Math.max(report.heapPeakMb, process.memoryUsage().heapUsed / 1048576);
      if (options.onProgress && Date.now() - lastProgress > 5000) {
        lastProgress = Date.now();
        options.onProgress({ ...report, records, elapsedMs: Date.now() - started });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));

  // Records of a connection are written by the time its close is seen; a moment for the last ones.
  const deadline = Date.now() + 5000;
  while (sim.gateway.connections().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  report.connectionsWithoutRecord = withoutRecord;
  report.records = records;
  report.unparsedBytes = unparsedBytes;
  report.internalErrors = internalErrors;
  report.uncaughtExceptions = uncaught.length;
  report.handshakeFailures = sim.gateway.stats.handshakeFailures;
  report.openAfter = sim.gateway.connections().length;
  report.heapAfterMb = await heapMb();
  report.heapPeakMb = Math.max(report.heapPeakMb, report.heapAfterMb);
  report.elapsedMs = Date.now() - started;
  process.off('uncaughtException', onUncaught);
  await sim.close();
  return report;
}
