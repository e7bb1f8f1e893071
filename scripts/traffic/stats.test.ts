import { describe, expect, it } from 'vitest';
import { percentile, summarizeLatencies } from './stats';

describe('latency percentiles (nearest rank)', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the nearest-rank value of a sorted list', () => {
    expect(percentile(oneToHundred, 50)).toBe(50);
    expect(percentile(oneToHundred, 95)).toBe(95);
    expect(percentile(oneToHundred, 99)).toBe(99);
    expect(percentile(oneToHundred, 100)).toBe(100);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
  });

  it('returns the only value for a single sample and undefined for none', () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
  });

  it('rejects percentiles outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('summarizes unsorted latencies without changing the input', () => {
    const values = [5, 1, 4, 2, 3, 100, 6, 7, 8, 9];
    expect(summarizeLatencies(values)).toEqual({ count: 10, p50: 5, p95: 100, p99: 100, max: 100 });
    expect(values[0]).toBe(5);
    expect(summarizeLatencies([])).toBeUndefined();
  });
});
