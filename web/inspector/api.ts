import { EventStreamParser, type ServerEvent } from './sse.js';

const TOKEN_KEY = 'apns-mock-control-token';

/**
 * A control token handed over as `#token=…` is moved to this tab's sessionStorage and taken
 * out of the address bar (a fragment never reaches a server, a history entry would keep it).
 */
export function adoptTokenFromFragment(): void {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match === null) return;
  setControlToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

export function controlToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setControlToken(token: string): void {
  if (token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = controlToken();
  return token === null ? extra : { ...extra, authorization: `Bearer ${token}` };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One control API call; the API's own `error` text becomes the message of a failure. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  // Every changing request says JSON, with a body or without: the control API refuses one that does not.
  const changing = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit = {
    method,
    headers: headers(changing ? { accept: 'application/json', 'content-type': 'application/json' } : { accept: 'application/json' }),
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message =
      typeof parsed === 'object' && parsed !== null && 'error' in parsed
        ? String(parsed.error)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

/** Fetches a file with the token and hands it to the browser as a download. */
export async function download(path: string, filename: string): Promise<number> {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new ApiError(response.status, `${response.status} ${response.statusText}`);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized';

/**
 * Follows GET /events. It is read with fetch rather than EventSource because EventSource
 * cannot send the Authorization header a guarded control API needs. Every (re)connection
 * starts with a `hello` and the kept records, so the page rebuilds its list from it and
 * misses nothing that happened while it was away (a clear included).
 */
export class EventStream {
  private controller: AbortController | null = null;
  private stopped = false;

  constructor(
    private readonly onEvent: (event: ServerEvent) => void,
    private readonly onState: (state: StreamState, detail?: string) => void,
    private readonly backlog = 1000,
  ) {}

  start(): void {
    this.stopped = false;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    void this.run(controller.signal);
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private async run(signal: AbortSignal): Promise<void> {
    let retryMs = 2000;
    while (!signal.aborted) {
      this.onState('connecting');
      try {
        const response = await fetch(`events?backlog=${this.backlog}`, {
          headers: headers({ accept: 'text/event-stream' }),
          signal,
          cache: 'no-store',
        });
        if (response.status === 401) {
          this.onState('unauthorized');
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`GET /events answered ${response.status}`);
        const parser = new EventStreamParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value, (event) => {
            if (event.event === 'hello') this.onState('live');
            this.onEvent(event);
          });
          retryMs = parser.retryMs ?? retryMs;
        }
        if (signal.aborted) return;
        this.onState('reconnecting', 'the stream ended');
      } catch (error) {
        if (signal.aborted || this.stopped) return;
        this.onState('reconnecting', error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}
