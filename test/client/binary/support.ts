import { BinaryClient, type BinaryClientOptions, type SendOutcome } from '../../../client/index.js';
import type { Simulator } from '../../../server/index.js';

export const TOKEN = 'aa'.repeat(32);

/** A payload that says which notification it is: the records are matched to the sends by `seq`. */
export const payloadOf = (seq: number) => ({ aps: { alert: `n${seq}` }, seq });

export function clientFor(sim: Simulator, options: Partial<BinaryClientOptions> = {}): BinaryClient {
  const { cert, key, ca } = sim.credentials;
  return new BinaryClient({
    host: '127.0.0.1',
    port: sim.ports.gateway,
    cert,
    key,
    ca,
    reconnect: { initialDelayMs: 10, maxDelayMs: 200 },
    ...options,
  });
}

/** Sends `count` notifications numbered 0..count-1 at once and waits for every outcome. */
export function sendNumbered(client: BinaryClient, count: number, token: (seq: number) => string = () => TOKEN): Promise<SendOutcome[]> {
  return Promise.all(Array.from({ length: count }, (_, seq) => client.send({ token: token(seq), payload: payloadOf(seq) })));
}

/** What a test needs of a record (read from the stored records: no JSON view per record). */
export interface SeenRecord {
  connectionId: number;
  outcome: string;
  rule: string | null;
  status: number | null;
  identifier: number | null;
  command: number | null;
}

export interface Ledger {
  /** Records by the seq in their payload. */
  bySeq: Map<number, SeenRecord[]>;
  accepted(seq: number): SeenRecord[];
  /** Connections that ended without an error response: a close or drop rule, or a command-0 rejection. */
  silentConnections: Set<number>;
  /** Flush markers the gateway answered (status 2, identifier 0, no token). */
  markers: SeenRecord[];
}

const SEQ = /"seq":(\d+)/;

export function ledgerOf(sim: Simulator, silentRules: readonly string[] = ['close', 'drop', 'drop-late']): Ledger {
  const bySeq = new Map<number, SeenRecord[]>();
  const silentConnections = new Set<number>();
  const markers: SeenRecord[] = [];
  for (const stored of sim.recorder.find()) {
    const r: SeenRecord = {
      connectionId: stored.connection.id,
      outcome: stored.outcome,
      rule: stored.rule,
      status: stored.status,
      identifier: stored.identifier,
      command: stored.command,
    };
    const match = stored.payload === null ? null : SEQ.exec(stored.payload.toString('latin1'));
    if (match !== null) {
      const seq = Number(match[1]);
      const list = bySeq.get(seq) ?? [];
      list.push(r);
      bySeq.set(seq, list);
    } else if (r.status === 2 && r.outcome === 'rejected' && (stored.token?.length ?? 0) === 0) {
      markers.push(r);
    }
    if ((r.rule !== null && silentRules.includes(r.rule)) || (r.command === 0 && r.outcome === 'rejected'))
      silentConnections.add(r.connectionId);
  }
  return {
    bySeq,
    accepted: (seq) => (bySeq.get(seq) ?? []).filter((r) => r.outcome === 'accepted'),
    silentConnections,
    markers,
  };
}

/**
 * What the client promises, checked against what the gateway recorded:
 * - an accepted outcome has at least one accepted record (nothing lost);
 * - a rejected outcome has a rejected record with its status and identifier;
 * - more than one accepted record (or any, for a rejected one) only when the outcome says
 *   possibleDuplicate, and every accepted record but the last is on a connection that closed
 *   without an error response.
 * Returns the number of duplicate acceptances.
 */
export function checkAgainstRecords(ledger: Ledger, outcomes: SendOutcome[]): { duplicates: number; flagged: number } {
  let duplicates = 0;
  let flagged = 0;
  outcomes.forEach((outcome, seq) => {
    const accepted = ledger.accepted(seq);
    if (outcome.possibleDuplicate) flagged++;
    const where = `seq ${seq}: ${JSON.stringify(outcome)} / records ${JSON.stringify((ledger.bySeq.get(seq) ?? []).map((r) => [r.connectionId, r.outcome, r.rule]))}`;
    if (outcome.status === 'accepted') {
      if (accepted.length === 0) throw new Error(`lost: ${where}`);
      if (accepted.length > 1 && !outcome.possibleDuplicate) throw new Error(`accepted twice, not flagged: ${where}`);
      for (const r of accepted.slice(0, -1)) {
        if (!ledger.silentConnections.has(r.connectionId))
          throw new Error(`duplicate on a connection that did not close silently: ${where}`);
      }
      duplicates += accepted.length - 1;
    } else if (outcome.status === 'rejected') {
      const rejected = (ledger.bySeq.get(seq) ?? []).filter((r) => r.outcome === 'rejected');
      if (!rejected.some((r) => r.status === outcome.code && r.identifier === outcome.identifier))
        throw new Error(`rejection not recorded: ${where}`);
      if (accepted.length > 0 && !outcome.possibleDuplicate) throw new Error(`rejected yet accepted, not flagged: ${where}`);
      for (const r of accepted) {
        if (!ledger.silentConnections.has(r.connectionId))
          throw new Error(`rejected one accepted on a connection that did not close silently: ${where}`);
      }
      duplicates += accepted.length;
    }
  });
  return { duplicates, flagged };
}
