import { parseArgs } from 'node:util';

export type Profile = 'slow' | 'fast' | 'mixed';

export interface TrafficOptions {
  profile: Profile;
  /** Requests started per second. */
  rate: number;
  /** Seconds during which new requests are started. */
  durationSeconds: number;
  /** Base URL without a trailing slash, e.g. http://localhost:8080 */
  target: string;
  /** Hard cap on requests started (defaults to rate x duration). */
  maxRequests: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

// Hard caps: the buttons pass user-typed values straight through, so a typo
// must not turn into a runaway load test on a laptop.
export const LIMITS = {
  maxRate: 200,
  maxDurationSeconds: 600,
  maxRequests: 200 * 600,
  maxTimeoutMs: 60_000,
} as const;

export const DEFAULTS = {
  profile: 'mixed' as Profile,
  rate: 5,
  durationSeconds: 30,
  target: 'http://localhost:8080',
  // Above the slowest answer the stack can give: the gateway route allows the
  // frontend 12 s (mesh retries 10 s, frontend timeout 11 s; README "timeout layering").
  timeoutMs: 15_000,
};

export const USAGE = `Usage: npm run traffic -- [options]

Sends HTTP GET requests at a steady rate and prints a summary.

  --profile slow|fast|mixed  slow: /api/slow, fast: /api/fast, mixed: alternate (default ${DEFAULTS.profile})
  --rate <req/s>             requests started per second, > 0 and <= ${LIMITS.maxRate} (default ${DEFAULTS.rate})
  --duration <s>             seconds to send for, > 0 and <= ${LIMITS.maxDurationSeconds} (default ${DEFAULTS.durationSeconds})
  --target <base url>        http(s) base URL (default ${DEFAULTS.target})
  --max-requests <n>         stop after n requests (default rate x duration, at most ${LIMITS.maxRequests})
  --timeout-ms <ms>          per-request timeout, at most ${LIMITS.maxTimeoutMs} (default ${DEFAULTS.timeoutMs})
  --help                     print this text`;

/** A bad command line; the message says which option and why. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function positiveNumber(option: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`--${option} must be a number greater than 0 and at most ${max}, got '${raw}'`);
  }
  return value;
}

function positiveInteger(option: string, raw: string | undefined, fallback: number, max: number): number {
  const value = positiveNumber(option, raw, fallback, max);
  if (!Number.isInteger(value)) throw new UsageError(`--${option} must be a whole number, got '${raw}'`);
  return value;
}

function parseTarget(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--target must be an absolute http(s) URL such as ${DEFAULTS.target}, got '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--target must use http or https, got '${raw}'`);
  }
  if (url.search || url.hash) throw new UsageError(`--target must not contain a query or fragment, got '${raw}'`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isProfile(value: string): value is Profile {
  return value === 'slow' || value === 'fast' || value === 'mixed';
}

/** Parses the CLI arguments; returns 'help' for --help, throws UsageError otherwise. */
export function parseTrafficArgs(argv: string[]): TrafficOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        profile: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        target: { type: 'string' },
        'max-requests': { type: 'string' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';

  const profile = values.profile ?? DEFAULTS.profile;
  if (!isProfile(profile)) throw new UsageError(`--profile must be slow, fast or mixed, got '${profile}'`);
  const rate = positiveNumber('rate', values.rate, DEFAULTS.rate, LIMITS.maxRate);
  const durationSeconds = positiveNumber('duration', values.duration, DEFAULTS.durationSeconds, LIMITS.maxDurationSeconds);
  const planned = Math.max(1, Math.ceil(rate * durationSeconds));
  return {
    profile,
    rate,
    durationSeconds,
    target: parseTarget(values.target ?? DEFAULTS.target),
    maxRequests: positiveInteger('max-requests', values['max-requests'], Math.min(planned, LIMITS.maxRequests), LIMITS.maxRequests),
    timeoutMs: positiveInteger('timeout-ms', values['timeout-ms'], DEFAULTS.timeoutMs, LIMITS.maxTimeoutMs),
  };
}
