export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Nearest-rank percentile (the smallest value with at least p% of the values
 * at or below it), so every reported number is a latency that really occurred.
 * `sorted` must be ascending; returns undefined for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function summarizeLatencies(valuesMs: readonly number[]): LatencySummary | undefined {
  if (valuesMs.length === 0) return undefined;
  const sorted = [...valuesMs].sort((a, b) => a - b);
  // Non-empty, so every percentile is defined.
  const at = (p: number) => percentile(sorted, p) as number;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}
