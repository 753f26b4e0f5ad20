/**
 * Percentiles by nearest rank, the one definition the history's summary, the charts, the
 * checkers and the benchmarks report: the p-th percentile of n values is the ⌈p/100 · n⌉-th
 * smallest (the smallest for p = 0). NaN when there are no values.
 */

/** The p-th percentile of values already sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The p-th percentile of values in any order. */
export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted([...values].sort((a, b) => a - b), p);
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** The median, the 95th and the 99th percentiles of values in any order. */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentileOfSorted(sorted, 50), p95: percentileOfSorted(sorted, 95), p99: percentileOfSorted(sorted, 99) };
}
