import { connect } from 'node:tls';
import { FeedbackDecoder, type FeedbackTuple } from '../../protocol/binary/index.js';
import { endpointOf, type Endpoint, type EndpointOptions } from '../shared/hosts.js';
import { FeedbackIncompleteError } from '../binary/outcome.js';
import { checkCredentials, tlsOptionsOf, type TlsCredentials } from '../shared/tls.js';

export interface FeedbackClientOptions extends TlsCredentials, EndpointOptions {
  /** Give up when the service has not closed within this time. Default 30,000 ms. */
  timeoutMs?: number;
}

/** An app that was uninstalled: stop sending to its token. */
export interface FeedbackEntry {
  /** UNIX seconds: when the service learnt the app was gone (the tuple's u32). */
  timestamp: number;
  date: Date;
  /** Lower-case hex. */
  token: string;
}

function entryOf(tuple: FeedbackTuple): FeedbackEntry {
  return { timestamp: tuple.timestamp, date: new Date(tuple.timestamp * 1000), token: tuple.token.toString('hex') };
}

/**
 * Apple's feedback service: it writes `u32 timestamp` `u16 tokenLen` `token` tuples as soon as
 * the provider connects, then closes. The provider writes nothing. A list, once read, is cleared.
 */
export class FeedbackClient {
  readonly endpoint: Endpoint;
  private readonly options: FeedbackClientOptions;

  constructor(options: FeedbackClientOptions) {
    checkCredentials(options);
    this.endpoint = endpointOf('feedback', options);
    this.options = options;
  }

  /** Connects, reads every tuple until the service closes, and returns them. */
  read(): Promise<FeedbackEntry[]> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const socket = connect(tlsOptionsOf(this.endpoint, this.options));
      const decoder = new FeedbackDecoder();
      const entries: FeedbackEntry[] = [];
      let failure: Error | null = null;
      const timer = setTimeout(() => {
        failure = new Error(`the feedback service at ${this.endpoint.host}:${this.endpoint.port} did not close within ${timeoutMs} ms`);
        socket.destroy();
      }, timeoutMs);
      socket.on('data', (chunk: Buffer) => {
        for (const tuple of decoder.push(chunk)) entries.push(entryOf(tuple));
      });
      socket.on('error', (error) => (failure ??= error));
      socket.on('close', () => {
        clearTimeout(timer);
        if (failure !== null) return reject(failure);
        const left = decoder.end();
        if (left > 0) {
          return reject(
            Object.assign(
              new FeedbackIncompleteError(`the feedback stream ended ${left} byte(s) into a tuple, after ${entries.length} whole one(s)`),
              { entries },
            ),
          );
        }
        resolve(entries);
      });
    });
  }
}

/** One read of the feedback service. */
export function readFeedback(options: FeedbackClientOptions): Promise<FeedbackEntry[]> {
  return new FeedbackClient(options).read();
}
