import { randomBytes } from 'node:crypto';
import { CHANNEL_ID_BYTES, type ChannelConfig } from '../../protocol/http2/index.js';

export interface Channel extends ChannelConfig {
  id: string;
  bundle: string;
  environment: string;
  createdAt: string;
}

/** Broadcast channels, per environment and app, as Apple's channel management API keeps them. */
export class ChannelStore {
  private readonly channels = new Map<string, Map<string, Channel>>();

  constructor(
    /** Channels one app may have in one environment. */
    readonly maxPerApp = 10_000,
  ) {}

  private app(environment: string, bundle: string, create = false): Map<string, Channel> | undefined {
    const key = `${environment} ${bundle}`;
    let found = this.channels.get(key);
    if (found === undefined && create) this.channels.set(key, (found = new Map()));
    return found;
  }

  /** The new channel, or null when the app has reached its limit. */
  create(environment: string, bundle: string, config: ChannelConfig): Channel | null {
    const app = this.app(environment, bundle, true)!;
    if (app.size >= this.maxPerApp) return null;
    const channel: Channel = {
      ...config,
      id: randomBytes(CHANNEL_ID_BYTES).toString('base64'),
      bundle,
      environment,
      createdAt: new Date().toISOString(),
    };
    app.set(channel.id, channel);
    return channel;
  }

  get(environment: string, bundle: string, id: string): Channel | null {
    return this.app(environment, bundle)?.get(id) ?? null;
  }

  delete(environment: string, bundle: string, id: string): boolean {
    return this.app(environment, bundle)?.delete(id) ?? false;
  }

  list(environment?: string, bundle?: string): Channel[] {
    if (environment !== undefined && bundle !== undefined) return [...(this.app(environment, bundle)?.values() ?? [])];
    return [...this.channels.values()].flatMap((app) => [...app.values()]);
  }

  clear(): void {
    this.channels.clear();
  }
}
