import { InputError } from './errors.js';

/** The longest timer Node keeps: larger values fire after 1 ms, so a duration above it is refused. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const SHAPE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/**
 * Reads a duration as every entry point takes it: a number of milliseconds, or text such as
 * "250ms", "5s", "2m", "2h" (a bare number is milliseconds). `what` names the input in the
 * error ("--idle-timeout", "query parameter timeout"). Values above `max` (default: the
 * longest timer Node keeps) are refused rather than silently wrapped.
 */
export function parseDuration(value: string | number, what: string, max = MAX_DURATION_MS): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
    if (!Number.isFinite(ms) || ms < 0) throw new InputError(`${what} must be a duration such as 500ms, 5s, 2m or 2h; got ${value}`);
  } else {
    const match = SHAPE.exec(value.trim());
    if (match === null) throw new InputError(`${what} must be a duration such as 500ms, 5s, 2m or 2h; got "${value}"`);
    ms = Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS];
  }
  if (ms > max) throw new InputError(`${what} must be at most ${formatDuration(max)}; got ${formatDuration(ms)}`);
  return ms;
}

/** "1.5 s", "250 ms", "2 h": how a duration is shown in messages. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 60_000 === 0) return `${+(ms / 3_600_000).toFixed(2)} h`;
  if (ms >= 60_000 && ms % 1000 === 0) return `${+(ms / 60_000).toFixed(2)} min`;
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)} s`;
  return `${ms} ms`;
}
