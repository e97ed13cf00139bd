import { setTimeout as sleep } from 'node:timers/promises';
import {
  BinaryClient,
  GatewayUnreachableError,
  HandshakeClosedError,
  Http2Client,
  NotBinaryGatewayError,
  type Http2ClientOptions,
  type Http2SendOutcome,
  type SendOutcome,
} from '../../client/index.js';
import { http2ReasonMeaning, isHttp2Reason } from '../../protocol/http2/index.js';
import type { LoadedCredentials, LoadedProviderKey } from '../shared/provider-options.js';
import type { SendPlan } from './plan.js';
import { UsageError } from '../shared/usage.js';
import { lookUpRejection } from '../shared/explain-lookup.js';
import { binaryPortAdvice, probePort } from '../../client/shared/port-probe.js';

interface Line {
  n: number;
  token: string;
  outcome: SendOutcome;
  /** The simulator's reason for a rejection, from its control API. */
  explanation?: string | null;
}

function jsonLine(line: Line): string {
  const { n, token, outcome } = line;
  const base = {
    n,
    token,
    status: outcome.status,
    identifier: outcome.identifier,
    attempts: outcome.attempts,
    possibleDuplicate: outcome.possibleDuplicate,
  };
  if (outcome.status === 'rejected') {
    const { code, name, reason } = outcome;
    return JSON.stringify({ ...base, code, name, reason, ...(line.explanation ? { explanation: line.explanation } : {}) });
  }
  if (outcome.status === 'failed') {
    return JSON.stringify({ ...base, error: outcome.error.message, errorCode: (outcome.error as NodeJS.ErrnoException).code ?? null });
  }
  return JSON.stringify(base);
}

function textLine({ n, token, outcome, explanation }: Line): string {
  const id = outcome.identifier === null ? '' : `  id ${outcome.identifier}`;
  const dup = outcome.possibleDuplicate ? '  (resent after a silent close: may have arrived twice)' : '';
  const detail =
    outcome.status === 'rejected'
      ? `  status ${outcome.code} ${outcome.name}: ${outcome.reason}`
      : outcome.status === 'failed'
        ? `  ${outcome.error.message}`
        : '';
  const text = `${outcome.status.padEnd(8)}  #${n}  ${token}${id}${detail}${dup}`;
  return explanation ? `${text}\n          simulator: ${explanation}` : text;
}

/** Sends the plan's notifications, prints each outcome as it is known, then a summary; returns the exit code. */
export async function runSend(plan: SendPlan, credentials: LoadedCredentials): Promise<number> {
  const { source, ...tls } = credentials;
  let client: BinaryClient;
  try {
    client = new BinaryClient({
      host: plan.host,
      port: plan.port,
      ...tls,
      command: plan.command,
      flush: plan.flush,
      connectTimeoutMs: 5000,
      // A person at a terminal wants an answer soon: three tries, well under a second apart.
      reconnect: { initialDelayMs: 100, maxDelayMs: 400, retries: 2 },
    });
  } catch (error) {
    throw new UsageError(`cannot use the provider certificate from ${source}: ${(error as Error).message}`);
  }
  return sendBatch<SendOutcome>(plan, {
    // Awaiting the enqueue keeps memory bounded: the client makes a caller wait when its buffer is full.
    submit: (token) => client.enqueue({ token, payload: plan.payload, expiry: plan.expiry, priority: plan.priority }),
    // Every outcome is known only once the last notification is proven: close() flushes first.
    close: () => client.close(),
    line: async (line) => {
      const explanation =
        plan.explain !== null && line.outcome.status === 'rejected'
          ? await lookUpRejection(plan.explain, { identifier: line.outcome.identifier, token: line.token })
          : null;
      return plan.json ? jsonLine({ ...line, explanation }) : textLine({ ...line, explanation });
    },
    over: '',
    summary: {},
    afterFailures: (failures) => adviseOnFailures(plan, credentials, failures),
  });
}

/**
 * After failures, what the user should do: a probe of the port tells the HTTP/2 API or a missing
 * certificate apart; else a failure that says what to do is repeated (it may have been --quiet).
 */
async function adviseOnFailures(plan: SendPlan, credentials: LoadedCredentials, failures: Error[]): Promise<void> {
  const refused = failures.find((e) => e instanceof GatewayUnreachableError && errorCodeOf(e.cause) === 'ECONNREFUSED');
  if (refused !== undefined) return;
  const probe = await probePort({ host: plan.host, port: plan.port, ca: credentials.ca?.toString(), servername: credentials.servername });
  const hasCertificate = credentials.cert !== undefined || credentials.pfx !== undefined;
  const advice = binaryPortAdvice(probe, plan.port, hasCertificate);
  const telling = failures.find((e) => e instanceof HandshakeClosedError || e instanceof NotBinaryGatewayError);
  const text = advice ?? telling?.message;
  if (text !== undefined) process.stderr.write(`apns-mock: ${text}\n`);
}

const errorCodeOf = (error: unknown) => (error instanceof Error && 'code' in error ? String(error.code) : '');

/** How `send --http2` authenticates: a provider key (tokens), or a certificate. */
export type Http2Auth = ({ kind: 'token' } & LoadedProviderKey) | ({ kind: 'certificate' } & LoadedCredentials);

interface Http2Line {
  n: number;
  token: string;
  outcome: Http2SendOutcome;
}

function http2JsonLine({ n, token, outcome }: Http2Line): string {
  const base = {
    n,
    token,
    status: outcome.status,
    apnsId: outcome.apnsId,
    attempts: outcome.attempts,
    possibleDuplicate: outcome.possibleDuplicate,
  };
  if (outcome.status === 'rejected') {
    const { statusCode, reason, timestamp, explanation } = outcome;
    return JSON.stringify({
      ...base,
      statusCode,
      reason,
      ...(timestamp === undefined ? {} : { timestamp }),
      ...(outcome.apnsUniqueId ? { apnsUniqueId: outcome.apnsUniqueId } : {}),
      ...(explanation === undefined ? {} : { explanation }),
    });
  }
  if (outcome.status === 'failed') {
    return JSON.stringify({ ...base, error: outcome.error.message, errorCode: (outcome.error as NodeJS.ErrnoException).code ?? null });
  }
  return JSON.stringify({
    ...base,
    ...(outcome.apnsUniqueId ? { apnsUniqueId: outcome.apnsUniqueId } : {}),
    ...(outcome.explanation ? { explanation: outcome.explanation } : {}),
  });
}

function http2TextLine({ n, token, outcome }: Http2Line): string {
  let detail = '';
  if (outcome.status === 'rejected') {
    detail = `  ${outcome.statusCode} ${outcome.reason}${isHttp2Reason(outcome.reason) ? `: ${http2ReasonMeaning(outcome.reason)}` : ''}`;
    if (outcome.timestamp !== undefined) detail += ` (since ${new Date(outcome.timestamp).toISOString()})`;
  } else if (outcome.status === 'failed') {
    detail = `  ${outcome.error.message}`;
  }
  const attempts = outcome.attempts > 1 ? `  (${outcome.attempts} attempts)` : '';
  const dup = outcome.possibleDuplicate ? '  (sent again after no answer: may have arrived twice)' : '';
  const line = `${outcome.status.padEnd(8)}  #${n}  ${token}  apns-id ${outcome.apnsId}${detail}${attempts}${dup}`;
  // The simulator's explanation (its x-apns-mock-reason header; Apple sends none), under Apple's line.
  return outcome.status === 'failed' || outcome.explanation === undefined ? line : `${line}\n          simulator: ${outcome.explanation}`;
}

/** `send --http2`: one request per notification to the HTTP/2 API, each outcome printed as it is known, then a summary; returns the exit code. */
export async function runSendHttp2(plan: SendPlan, auth: Http2Auth): Promise<number> {
  const common: Http2ClientOptions = {
    host: plan.host,
    port: plan.port,
    ca: auth.ca,
    servername: auth.servername,
    connectTimeoutMs: 5000,
    // A person at a terminal wants an answer soon: three tries, well under a second apart.
    reconnect: { initialDelayMs: 100, maxDelayMs: 400, retries: 2 },
    retry: { initialDelayMs: 200, maxDelayMs: 1000, maxAttempts: 3 },
  };
  let client: Http2Client;
  try {
    client =
      auth.kind === 'token'
        ? new Http2Client({ ...common, token: { teamId: auth.teamId, keyId: auth.keyId, key: auth.key } })
        : new Http2Client({ ...common, cert: auth.cert, key: auth.key, pfx: auth.pfx, passphrase: auth.passphrase });
  } catch (error) {
    throw new UsageError(
      `cannot use the ${auth.kind === 'token' ? 'provider key' : 'provider certificate'} from ${auth.source}: ${(error as Error).message}`,
    );
  }
  return sendBatch<Http2SendOutcome>(plan, {
    submit: (token) =>
      Promise.resolve({
        outcome: client.send({
          token,
          payload: plan.payload,
          topic: plan.topic,
          pushType: plan.pushType,
          priority: plan.priority,
          expiration: plan.expiry,
          collapseId: plan.collapseId,
        }),
      }),
    close: () => client.close(),
    line: (line) => (plan.json ? http2JsonLine(line) : http2TextLine(line)),
    over: ' over HTTP/2',
    summary: { protocol: 'http2', auth: auth.kind },
  });
}

interface Batch<O> {
  /** Hands one notification to the client; resolves once it is taken, with the promise of its outcome. */
  submit(token: string): Promise<{ outcome: Promise<O> }>;
  close(): Promise<void>;
  line(line: { n: number; token: string; outcome: O }): string | Promise<string>;
  /** Called with the failures (first few) once the batch is over, before the exit code is returned. */
  afterFailures?(failures: Error[]): Promise<void>;
  /** Words after the address in the summary line. */
  over: string;
  /** Extra fields of the JSON summary. */
  summary: Record<string, unknown>;
}

/** Sends `count` notifications per token at the plan's rate, prints each outcome as it is known, then a summary; returns the exit code. */
async function sendBatch<O extends { status: 'accepted' | 'rejected' | 'failed'; error?: unknown }>(
  plan: SendPlan,
  batch: Batch<O>,
): Promise<number> {
  const counts = { accepted: 0, rejected: 0, failed: 0 };
  let unreachable: Error | null = null;
  const total = plan.tokens.length * plan.count;
  const interval = plan.rate === null ? 0 : 1000 / plan.rate;
  const started = Date.now();
  const outcomes: Promise<void>[] = [];
  const failures: Error[] = [];
  const progress = startProgress(plan, total, counts);
  let n = 0;
  for (const token of plan.tokens) {
    for (let i = 0; i < plan.count; i++) {
      n++;
      if (interval > 0) {
        const wait = started + (n - 1) * interval - Date.now();
        if (wait > 0) await sleep(wait);
      }
      const number = n;
      const { outcome } = await batch.submit(token);
      outcomes.push(
        outcome.then(async (o) => {
          counts[o.status]++;
          if (o.status === 'failed' && o.error instanceof GatewayUnreachableError) unreachable = o.error;
          if (o.status === 'failed' && o.error instanceof Error && failures.length < 10) failures.push(o.error);
          if (plan.quiet) return;
          const text = await batch.line({ n: number, token, outcome: o });
          progress.clear();
          process.stdout.write(`${text}\n`);
        }),
      );
    }
  }
  await batch.close();
  await Promise.all(outcomes);
  progress.stop();

  const seconds = (Date.now() - started) / 1000;
  const where = `${plan.host}:${plan.port}`;
  if (plan.json) {
    process.stdout.write(
      `${JSON.stringify({ summary: { sent: total, ...counts, ...batch.summary, host: plan.host, port: plan.port, seconds } })}\n`,
    );
  } else {
    process.stdout.write(
      `${total} notification(s) to ${where}${batch.over}: ${counts.accepted} accepted, ${counts.rejected} rejected, ${counts.failed} failed (${seconds.toFixed(2)} s)\n`,
    );
  }
  const cause = (unreachable as Error | null)?.cause as NodeJS.ErrnoException | undefined;
  if (cause?.code === 'ECONNREFUSED') {
    process.stderr.write(
      `apns-mock: nothing listens at ${where}: start the simulator with 'npx apns-mock serve', or give --host and --port\n`,
    );
  }
  if (failures.length > 0 && cause?.code !== 'ECONNREFUSED') await batch.afterFailures?.(failures);
  return counts.rejected + counts.failed > 0 ? 1 : 0;
}

/** How often the progress line is redrawn on a terminal. */
const PROGRESS_EVERY_MS = 200;

/** A progress line (`\r`, counts) on a terminal, never in --json or when stdout is a file or pipe. */
function startProgress(plan: SendPlan, total: number, counts: Record<'accepted' | 'rejected' | 'failed', number>) {
  const shown = process.stdout.isTTY === true && !plan.json;
  let drawn = false;
  const draw = () => {
    const done = counts.accepted + counts.rejected + counts.failed;
    process.stdout.write(`\r${done}/${total}: ${counts.accepted} accepted, ${counts.rejected} rejected, ${counts.failed} failed`);
    drawn = true;
  };
  const timer = shown ? setInterval(draw, PROGRESS_EVERY_MS) : null;
  const clear = () => {
    if (drawn) process.stdout.write('\r\x1b[K');
    drawn = false;
  };
  return {
    clear,
    stop: () => {
      if (timer !== null) clearInterval(timer);
      clear();
    },
  };
}
