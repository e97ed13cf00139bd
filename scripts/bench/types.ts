/** One measured number, beside a baseline measured in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The baseline's value in the same unit; null when the row has none. */
  baseline: number | null;
  /** value / baseline. */
  ratio: number | null;
  /** The ratio the row must reach; null when it has no target. */
  target: number | null;
  met: boolean | null;
}

/** A benchmark module: scripts/bench/index.ts runs each one in its list. */
export interface Bench {
  name: string;
  describe: string;
  run(): Promise<BenchRow[]> | BenchRow[];
}

export function row(name: string, value: number, unit: string, baseline: number | null, target: number | null = null): BenchRow {
  const ratio = baseline === null || baseline === 0 ? null : value / baseline;
  return { name, value, unit, baseline, ratio, target, met: target === null || ratio === null ? null : ratio >= target };
}

/**
 * Runs each function in turns, interleaved so drift in the machine's speed hits them alike,
 * for about `budgetMs` in all; returns each one's best rate in operations per second.
 */
export function race(fns: readonly (() => number)[], budgetMs: number, rounds = 7): number[] {
  const best = fns.map(() => 0);
  // One untimed pass each so the JIT has compiled them before timing starts.
  for (const fn of fns) fn();
  const slice = budgetMs / rounds / fns.length;
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      let ops = 0;
      const start = process.hrtime.bigint();
      let elapsed = 0;
      do {
        ops += fn();
        elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      } while (elapsed < slice);
      best[i] = Math.max(best[i], (ops / elapsed) * 1000);
    });
  }
  return best;
}
