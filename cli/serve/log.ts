import type { NotificationRecord, RefusedConnection, Simulator } from '../../server/index.js';

/** What `serve` prints while it runs: a line per event, counts every few seconds, or nothing. */
export type LogMode = 'each' | 'summary' | 'none';

export const LOG_MODES: readonly LogMode[] = ['each', 'summary', 'none'];

/** How often `--log summary` looks at the counts (a line only when they changed). */
export const SUMMARY_INTERVAL_MS = 5000;

/** `each` for a person at a terminal; `summary` for a log file or a pipe, which a line per notification would flood. */
export function defaultLogMode(stdoutIsTerminal: boolean): LogMode {
  return stdoutIsTerminal ? 'each' : 'summary';
}

interface ConnectionLike {
  id: number;
  protocol: string;
  peer: string;
  topic: string | null;
  environment: string | null;
}

const PROTOCOL_NAMES: Record<string, string> = { binary: 'binary', http2: 'HTTP/2', feedback: 'feedback' };
const clock = (date = new Date()) => date.toISOString().slice(11, 23);
const shortToken = (token: string | null) =>
  token === null ? 'no token' : token.length <= 16 ? token : `${token.slice(0, 8)}…${token.slice(-4)}`;

export function refusalLine(r: RefusedConnection): string {
  return `${clock(new Date(r.at))} refused   ${PROTOCOL_NAMES[r.service] ?? r.service} from ${r.peer}: ${r.reason}: ${r.message}`;
}

const isMarker = (r: NotificationRecord) => (r as { marker?: unknown }).marker === true;

export function recordLine(r: NotificationRecord): string {
  const where = `${PROTOCOL_NAMES[r.protocol]} #${r.connectionId}`;
  const id = r.protocol === 'http2' ? `apns-id ${r.http2?.apnsId ?? '?'}` : r.identifier === null ? 'no id' : `id ${r.identifier}`;
  const head = `${clock(new Date(r.time))} ${(isMarker(r) ? 'marker' : r.outcome).padEnd(9)} ${where}  ${id}  ${shortToken(r.token)}`;
  if (isMarker(r)) return `${head}  (the sender's flush marker: status ${r.status}, not counted as rejected)`;
  const warned = r.warnings.length > 0 ? `  warning: ${r.warnings.map((w) => w.message).join('; ')}` : '';
  if (r.outcome === 'accepted') return `${head}  ${r.topic ?? ''}${warned}`;
  const status = r.status === null ? '' : `status ${r.status}${r.statusName ? ` ${r.statusName}` : ''}`;
  return `${head}  ${status}${r.reason ? `: ${r.reason}` : ''}${warned}`;
}

function connectionLine(event: 'connect' | 'disconnect', c: ConnectionLike): string {
  const who = [c.topic, c.environment].filter(Boolean).join(', ');
  const verb = event === 'connect' ? 'connected' : 'closed   ';
  return `${clock()} ${verb} ${PROTOCOL_NAMES[c.protocol] ?? c.protocol} #${c.id} from ${c.peer}${event === 'connect' && who ? ` (${who})` : ''}`;
}

/** The counts of a summary line, from the recorder (its outcome counts leave flush markers out) and the refusal log. */
function countsOf(sim: Simulator): { text: string; key: string } {
  const stats = sim.recorder.stats();
  const markers = stats.markers ?? 0;
  const open = sim.gateway.stats.open + (sim.http2?.stats.open ?? 0);
  const parts = [
    `${stats.total.toLocaleString('en-US')} notification(s): ${stats.accepted} accepted, ${stats.rejected} rejected`,
    ...(stats.discarded > 0 ? [`${stats.discarded} discarded`] : []),
    ...(stats.incomplete > 0 ? [`${stats.incomplete} incomplete`] : []),
    ...(markers > 0 ? [`${markers} flush marker(s)`] : []),
  ];
  const text = `${parts.join(', ')}; ${open} connection(s) open; ${sim.refusals.total} refused`;
  return { text, key: text };
}

/**
 * Follows the simulator and writes what happens to `write` (serve's stdout). Refused
 * connections are always told, one line each, except with `none`: they are what a person
 * cannot see from the sending side. Returns a function that stops following.
 */
export function followSimulator(sim: Simulator, mode: LogMode, write: (line: string) => void): () => void {
  if (mode === 'none') return () => {};
  const stops: (() => void)[] = [];
  const onRefused = (r: RefusedConnection) => write(refusalLine(r));
  sim.refusals.on('refused', onRefused);
  stops.push(() => sim.refusals.off('refused', onRefused));
  if (mode === 'each') {
    const onRecord = (r: { toJSON(): NotificationRecord }) => write(recordLine(r.toJSON()));
    sim.recorder.on('record', onRecord);
    stops.push(() => sim.recorder.off('record', onRecord));
    for (const source of [sim.gateway, sim.http2]) {
      if (source === null) continue;
      const onConnect = (c: ConnectionLike) => write(connectionLine('connect', c));
      const onDisconnect = (c: ConnectionLike) => write(connectionLine('disconnect', c));
      source.on('connect', onConnect);
      source.on('disconnect', onDisconnect);
      stops.push(() => {
        source.off('connect', onConnect);
        source.off('disconnect', onDisconnect);
      });
    }
  } else {
    let last = countsOf(sim).key;
    const timer = setInterval(() => {
      const now = countsOf(sim);
      if (now.key === last) return;
      last = now.key;
      write(`${clock()} ${now.text}`);
    }, SUMMARY_INTERVAL_MS);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }
  return () => stops.forEach((stop) => stop());
}
