// Tools for the reliability tests: a seeded PRNG, RSS readings, a paced load
// generator, a retrying proxy that plays the mesh's retry policy, and a
// "black hole" server that accepts connections and never answers.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { percentile as nearestRankPercentile } from '../../scripts/traffic/stats';

/** mulberry32: a tiny seeded PRNG, so a failing fuzz case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resident set size of a process, in KiB (Linux /proc). */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** The traffic generator's nearest-rank percentile; NaN for no values. */
export function percentile(sorted: number[], p: number): number {
  return nearestRankPercentile(sorted, p) ?? Number.NaN;
}

export interface Outcome {
  /** ms since the load started */
  startedAt: number;
  endedAt: number;
  path: string;
  status: number | undefined;
  error: string | undefined;
  body: string;
}

export interface LoadOptions {
  baseUrl: string;
  /** requests per second */
  rate: number;
  durationMs: number;
  /** path of the i-th request */
  pathFor(index: number): string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** called once per second of load with the seconds elapsed (e.g. to sample RSS) */
  onSecond?(second: number): void;
  /** at most this many requests in flight; further ticks are counted as skipped */
  maxInFlight?: number;
}

/**
 * Open-loop load: starts requests on a fixed schedule whatever the answers
 * take (no coordinated omission), records every outcome, waits for the open ones.
 */
export async function pacedLoad(options: LoadOptions): Promise<{ outcomes: Outcome[]; skipped: number; elapsedMs: number }> {
  const outcomes: Outcome[] = [];
  const open = new Set<Promise<void>>();
  const begin = performance.now();
  const interval = 1000 / options.rate;
  const total = Math.round((options.durationMs / 1000) * options.rate);
  let skipped = 0;
  let second = 0;
  for (let i = 0; i < total; i += 1) {
    const due = begin + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const now = performance.now() - begin;
    while (options.onSecond && now >= (second + 1) * 1000) options.onSecond(++second);
    if (open.size >= (options.maxInFlight ?? 500)) {
      skipped += 1;
      continue;
    }
    const path = options.pathFor(i);
    const startedAt = performance.now() - begin;
    const one = (async () => {
      let status: number | undefined;
      let error: string | undefined;
      let body = '';
      try {
        const response = await fetch(`${options.baseUrl}${path}`, {
          headers: options.headers,
          signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        });
        body = await response.text();
        status = response.status;
      } catch (e) {
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      outcomes.push({ startedAt, endedAt: performance.now() - begin, path, status, error, body });
    })().finally(() => open.delete(one));
    open.add(one);
  }
  await Promise.all(open);
  return { outcomes, skipped, elapsedMs: performance.now() - begin };
}

export interface RetryPolicy {
  /** retries after the first try (Istio's `attempts`) */
  attempts: number;
  perTryTimeoutMs: number;
  /** Istio/Envoy retryOn conditions; 5xx, reset and connect-failure are modelled */
  retryOn: string[];
}

export interface RetryingProxy {
  url: string;
  /** tries per proxied request, in order of completion */
  tries: number[];
  close(): Promise<void>;
}

/**
 * Plays the client sidecar's router for one upstream: forwards each request,
 * and retries (25 ms x 2^n backoff with full jitter, like Envoy's default) on
 * a 5xx answer, a reset or a refused connection, at most `attempts` times,
 * each try bounded by perTryTimeout. What it cannot play: see the test.
 */
export async function retryingProxy(target: string, policy: RetryPolicy): Promise<RetryingProxy> {
  const upstream = new URL(target);
  const tries: number[] = [];
  const once = (method: string, path: string, headers: IncomingHttpHeaders) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer } | { failure: 'reset' | 'connect-failure' | 'timeout' }>((resolve) => {
      const req = httpRequest(
        { host: upstream.hostname, port: upstream.port, method, path, headers: { ...headers, host: upstream.host }, timeout: policy.perTryTimeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', () => resolve({ failure: 'reset' }));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        resolve({ failure: 'timeout' });
      });
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ failure: error.code === 'ECONNREFUSED' ? 'connect-failure' : 'reset' }));
      req.end();
    });
  const retriable = (result: Awaited<ReturnType<typeof once>>) => {
    if ('failure' in result) {
      // Envoy's 5xx condition includes resets, connect failures and per-try timeouts.
      return policy.retryOn.includes('5xx') || policy.retryOn.includes(result.failure === 'timeout' ? 'reset' : result.failure);
    }
    return result.status >= 500 && policy.retryOn.includes('5xx');
  };
  const server: Server = createHttpServer(async (req, res) => {
    let result: Awaited<ReturnType<typeof once>> | undefined;
    let count = 0;
    for (let attempt = 0; attempt <= policy.attempts; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** (attempt - 1)));
      count += 1;
      result = await once(req.method ?? 'GET', req.url ?? '/', req.headers);
      if (!retriable(result)) break;
    }
    tries.push(count);
    if (!result || 'failure' in result) {
      // What Envoy answers when the upstream is unreachable or too slow.
      const status = result?.failure === 'timeout' ? 504 : 503;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 504 ? 'upstream request timeout' : 'upstream connect error or disconnect/reset before headers');
      return;
    }
    const { 'transfer-encoding': _te, connection: _c, 'keep-alive': _ka, ...headers } = result.headers;
    res.writeHead(result.status, headers).end(result.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP server standing in for a broken backend: `hang` accepts every
 * connection and never answers (a hung backend), `reset` closes each one at
 * once (a backend that is going away).
 */
export async function blackHole(
  mode: 'hang' | 'reset' = 'hang',
): Promise<{ url: string; connections(): number; open(): number; oldestOpenMs(): number; close(): Promise<void> }> {
  const sockets = new Map<Socket, number>();
  let accepted = 0;
  const server = createTcpServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    if (mode === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    sockets.set(socket, performance.now());
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // read and discard
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    /** connections the clients have not closed yet */
    open: () => sockets.size,
    /** how long the oldest still-open connection has been open (0 when none is) */
    oldestOpenMs: () => Math.max(0, ...[...sockets.values()].map((since) => performance.now() - since)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.keys()) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
