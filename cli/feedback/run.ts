import { readFeedback, type FeedbackEntry } from '../../client/index.js';
import type { LoadedCredentials } from '../shared/provider-options.js';
import { UsageError } from '../shared/usage.js';

/** Reads the feedback tuples and prints them; returns the exit code (1 when the service could not be read). */
export async function runFeedback(
  target: { host: string; port: number },
  credentials: LoadedCredentials,
  options: { json: boolean; timeoutMs: number },
): Promise<number> {
  const { source, ...tls } = credentials;
  let entries: FeedbackEntry[];
  try {
    entries = await readFeedback({ ...target, ...tls, timeoutMs: options.timeoutMs });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e instanceof TypeError || e.code === 'ERR_OSSL_PKCS12_MAC_VERIFY_FAILURE' || /PEM|passphrase|mac verify/i.test(e.message)) {
      throw new UsageError(`cannot use the provider certificate from ${source}: ${e.message}`);
    }
    const hint = e.code === 'ECONNREFUSED' ? ": start the simulator with 'npx apns-mock serve', or give --host and --port" : '';
    process.stderr.write(`apns-mock: cannot read the feedback service at ${target.host}:${target.port}: ${e.message}${hint}\n`);
    return 1;
  }
  for (const entry of entries) {
    const line = options.json
      ? JSON.stringify({ timestamp: entry.timestamp, date: entry.date.toISOString(), token: entry.token })
      : `${entry.date.toISOString()}  ${entry.token}`;
    process.stdout.write(`${line}\n`);
  }
  if (!options.json) {
    process.stdout.write(
      entries.length === 0
        ? 'No uninstalled apps reported (the list is cleared each time it is read).\n'
        : `${entries.length} token(s) of uninstalled apps.\n`,
    );
  }
  return 0;
}
