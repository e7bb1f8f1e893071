import { setTimeout as sleep } from 'node:timers/promises';
import type { Profile, TrafficOptions } from './args';
import { summarizeLatencies, type LatencySummary } from './stats';

/** At most this many requests wait for an answer at once; further ticks are skipped and counted. */
export const MAX_IN_FLIGHT = 100;

// Errors that mean "nothing listens there" rather than "the service misbehaved".
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'bad port']);

export interface TrafficResult {
  options: TrafficOptions;
  sent: number;
  /** Ticks not sent because MAX_IN_FLIGHT requests were still open. */
  skipped: number;
  statusCounts: Map<number, number>;
  errorCounts: Map<string, number>;
  /** Requests without an HTTP answer or with status >= 400. */
  failures: number;
  latency: LatencySummary | undefined;
  elapsedMs: number;
  /** Set when the target never answered and the run stopped early. */
  unreachable?: string;
  /** Set when the run was stopped from outside (SIGINT/SIGTERM, a second button click). */
  interrupted: boolean;
}

export function pathFor(profile: Profile, index: number): string {
  if (profile === 'slow') return '/api/slow';
  if (profile === 'fast') return '/api/fast';
  return index % 2 === 0 ? '/api/slow' : '/api/fast';
}

/** A short, stable name for why a request got no HTTP answer. */
export function errorKind(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return 'timeout';
    if (error.name === 'AbortError') return 'aborted';
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string' ? code : cause.message;
    }
    return error.message;
  }
  return String(error);
}

/**
 * Starts requests at `rate` per second for `durationSeconds` (never more than
 * `maxRequests`), waits for the open ones (each bounded by `timeoutMs`) and
 * returns the counts. Stops early if the target never answers, or when `stop`
 * is aborted (open requests are then aborted too).
 */
export async function runTraffic(options: TrafficOptions, stop?: AbortSignal): Promise<TrafficResult> {
  const result: TrafficResult = {
    options,
    sent: 0,
    skipped: 0,
    statusCounts: new Map(),
    errorCounts: new Map(),
    failures: 0,
    latency: undefined,
    elapsedMs: 0,
    interrupted: false,
  };
  const latencies: number[] = [];
  const open = new Set<Promise<void>>();
  let answered = 0;
  const halt = new AbortController();
  const bump = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

  async function one(index: number): Promise<void> {
    const started = performance.now();
    const signals = [AbortSignal.timeout(options.timeoutMs), ...(stop ? [stop] : [])];
    try {
      const response = await fetch(`${options.target}${pathFor(options.profile, index)}`, {
        signal: AbortSignal.any(signals),
        headers: { 'user-agent': 'meshloop-traffic' },
      });
      await response.arrayBuffer(); // the latency includes the body
      latencies.push(performance.now() - started);
      bump(result.statusCounts, response.status);
      if (response.status >= 400) result.failures++;
      answered++;
    } catch (error) {
      const kind = errorKind(error);
      bump(result.errorCounts, kind);
      result.failures++;
      if (answered === 0 && UNREACHABLE_CODES.has(kind) && !result.unreachable) {
        result.unreachable = `cannot reach ${options.target} (${kind}): is the app running and the URL right?`;
        halt.abort();
      }
    }
  }

  const intervalMs = 1000 / options.rate;
  const durationMs = options.durationSeconds * 1000;
  const begin = performance.now();
  let ticks = 0;
  const stopped = () => halt.signal.aborted || (stop?.aborted ?? false);

  while (!stopped() && ticks < options.maxRequests) {
    const elapsed = performance.now() - begin;
    if (elapsed >= durationMs) break;
    // Catch up on every tick that is due, so timer jitter does not lower the rate.
    const due = Math.min(options.maxRequests, Math.floor(elapsed / intervalMs) + 1);
    for (; ticks < due; ticks++) {
      if (open.size >= MAX_IN_FLIGHT) {
        result.skipped++;
        continue;
      }
      result.sent++;
      const request = one(ticks).finally(() => open.delete(request));
      open.add(request);
    }
    const wait = begin + ticks * intervalMs - performance.now();
    try {
      await sleep(Math.max(0, wait), undefined, { signal: AbortSignal.any([halt.signal, ...(stop ? [stop] : [])]) });
    } catch {
      break; // stopped while waiting
    }
  }

  await Promise.all(open);
  result.interrupted = stop?.aborted ?? false;
  result.latency = summarizeLatencies(latencies);
  result.elapsedMs = performance.now() - begin;
  return result;
}

/** 1 when nothing succeeded (every request failed, or none could be sent), else 0. */
export function exitCodeFor(result: TrafficResult): number {
  return result.sent === 0 || result.failures === result.sent ? 1 : 0;
}

const ms = (value: number) => value.toFixed(1);
const counts = <K>(map: Map<K, number>) =>
  [...map.entries()]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(([key, n]) => `${String(key)}=${n}`)
    .join(' ') || 'none';

/** The summary printed at the end (also what the Tilt buttons show in the log). */
export function formatSummary(result: TrafficResult): string {
  const { options, latency } = result;
  const lines = [
    `traffic summary: profile=${options.profile} target=${options.target} rate=${options.rate}/s elapsed=${(result.elapsedMs / 1000).toFixed(1)}s${result.interrupted ? ' (interrupted)' : ''}`,
    `  requests sent: ${result.sent}${result.skipped ? ` (skipped ${result.skipped}: ${MAX_IN_FLIGHT} still open)` : ''}`,
    `  status codes: ${counts(result.statusCounts)}`,
    `  errors: ${counts(result.errorCounts)}`,
    `  failures: ${result.failures}`,
    latency
      ? `  latency ms: p50=${ms(latency.p50)} p95=${ms(latency.p95)} p99=${ms(latency.p99)} max=${ms(latency.max)} (n=${latency.count})`
      : '  latency ms: no answers',
  ];
  if (result.unreachable) lines.push(`error: ${result.unreachable}`);
  else if (exitCodeFor(result) !== 0) lines.push(`error: every request to ${options.target} failed`);
  return lines.join('\n');
}
