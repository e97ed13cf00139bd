/** Apple's environments for the legacy binary protocol (retired 2021-03-31). */
export type AppleEnvironment = 'sandbox' | 'production';

/** Apple's hosts and ports for the binary gateway and the feedback service. */
export const APPLE_HOSTS = {
  gateway: { sandbox: 'gateway.sandbox.push.apple.com', production: 'gateway.push.apple.com', port: 2195 },
  feedback: { sandbox: 'feedback.sandbox.push.apple.com', production: 'feedback.push.apple.com', port: 2196 },
} as const;

export type AppleService = keyof typeof APPLE_HOSTS;

export interface Endpoint {
  host: string;
  port: number;
}

export interface EndpointOptions {
  /** Any host; overrides `environment`. */
  host?: string;
  /** Default: Apple's port for the service (2195 gateway, 2196 feedback). */
  port?: number;
  /** Apple's hosts for this environment, when no `host` is given. */
  environment?: AppleEnvironment;
}

/** Where to connect: `host`/`port` when given, else Apple's host for `environment`. */
export function endpointOf(service: AppleService, options: EndpointOptions): Endpoint {
  const apple = APPLE_HOSTS[service];
  const port = options.port ?? apple.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1..65535; got ${String(options.port)}`);
  if (options.host !== undefined) return { host: options.host, port };
  if (options.environment === 'sandbox' || options.environment === 'production') return { host: apple[options.environment], port };
  if (options.environment !== undefined) {
    throw new RangeError(`environment must be 'sandbox' or 'production'; got ${JSON.stringify(options.environment)}`);
  }
  throw new TypeError(`give a host (and port), or environment: 'sandbox' | 'production' for Apple's ${service} hosts`);
}
