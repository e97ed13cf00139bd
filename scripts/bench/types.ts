/** One measured number, beside a baseline measured in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The baseline's value in the same unit; null when the row has none. */
  baseline: number | null;
  /** value / baseline. */
  ratio: number | null;
  /** The bound the row must meet (see `goal`); null when it has none. */
  target: number | null;
  /** What the target bounds, e.g. "ratio >= 0.5", "value <= 65536", "value - baseline <= 300". */
  goal: string | null;
  met: boolean | null;
}

/** A benchmark module: scripts/bench/index.ts runs each one in its list. */
export interface Bench {
  name: string;
  describe: string;
  run(): Promise<BenchRow[]> | BenchRow[];
}

/**
 * With BENCH_TRACE set, each timed run prints its wall time and the CPU time each process
 * used: a process whose CPU time is near the wall time was the limit of that run.
 */
export function trace(what: string, ms: number, cpu: Record<string, number>): void {
  if (!process.env.BENCH_TRACE) return;
  const used = Object.entries(cpu)
    .map(([who, t]) => `${who} ${t.toFixed(0)} ms`)
    .join(', ');
  process.stderr.write(`  [trace] ${what}: ${ms.toFixed(0)} ms; cpu: ${used}\n`);
}

/** CPU time (user + system) this process used since `since`, in ms. */
export function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** A row whose ratio (value / baseline) must reach `target` when one is given. */
export function row(name: string, value: number, unit: string, baseline: number | null, target: number | null = null): BenchRow {
  const ratio = baseline === null || baseline === 0 ? null : value / baseline;
  return {
    name,
    value,
    unit,
    baseline,
    ratio,
    target,
    goal: target === null ? null : `ratio >= ${target}`,
    met: target === null || ratio === null ? null : ratio >= target,
  };
}

/** A row whose value must stay at or under `limit`; lower is better. */
export function ceilingRow(name: string, value: number, unit: string, limit: number): BenchRow {
  return { name, value, unit, baseline: null, ratio: null, target: limit, goal: `value <= ${limit}`, met: value <= limit };
}

/** A row whose ratio to its baseline must stay at or under `maxRatio`; lower is better. */
export function ratioCeilingRow(name: string, value: number, unit: string, baseline: number, maxRatio: number): BenchRow {
  const ratio = value / baseline;
  return { name, value, unit, baseline, ratio, target: maxRatio, goal: `ratio <= ${maxRatio}`, met: ratio <= maxRatio };
}

/** A row whose value may exceed its baseline by at most `margin`; lower is better. */
export function marginRow(name: string, value: number, unit: string, baseline: number, margin: number): BenchRow {
  return {
    name,
    value,
    unit,
    baseline,
    ratio: value / baseline,
    target: margin,
    goal: `value - baseline <= ${margin}`,
    met: value - baseline <= margin,
  };
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
      let elapsed: number;
      do {
        ops += fn();
        elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      } while (elapsed < slice);
      best[i] = Math.max(best[i], (ops / elapsed) * 1000);
    });
  }
  return best;
}
