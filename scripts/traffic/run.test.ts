import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrafficOptions } from './args';
import { MAX_IN_FLIGHT, exitCodeFor, formatSummary, pathFor, runTraffic } from './run';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];

/** A tiny HTTP server on a random free port; returns its base URL and the paths it saw. */
async function serve(handler: Handler): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

/** A port on which nothing listens (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const options = (overrides: Partial<TrafficOptions>): TrafficOptions => ({
  profile: 'fast',
  rate: 100,
  durationSeconds: 5,
  target: 'http://127.0.0.1:9',
  maxRequests: 20,
  timeoutMs: 2000,
  ...overrides,
});

describe('traffic run against a real HTTP server', () => {
  it('maps profiles to the frontend paths; mixed alternates slow and fast', () => {
    expect([0, 1].map((i) => pathFor('slow', i))).toEqual(['/api/slow', '/api/slow']);
    expect([0, 1].map((i) => pathFor('fast', i))).toEqual(['/api/fast', '/api/fast']);
    expect([0, 1, 2, 3].map((i) => pathFor('mixed', i))).toEqual(['/api/slow', '/api/fast', '/api/slow', '/api/fast']);
  });

  it('sends exactly max-requests, counts status codes and latencies, exits 0', async () => {
    const { url, hits } = await serve((_req, res) => res.end('ok'));
    const result = await runTraffic(options({ target: url, profile: 'mixed' }));

    expect(result.sent).toBe(20);
    expect(hits).toHaveLength(20);
    expect(hits.filter((p) => p === '/api/slow')).toHaveLength(10);
    expect(hits.filter((p) => p === '/api/fast')).toHaveLength(10);
    expect(Object.fromEntries(result.statusCounts)).toEqual({ 200: 20 });
    expect(result.failures).toBe(0);
    expect(result.latency?.count).toBe(20);
    expect(result.latency!.p50).toBeLessThanOrEqual(result.latency!.p95);
    expect(result.latency!.p95).toBeLessThanOrEqual(result.latency!.p99);
    expect(exitCodeFor(result)).toBe(0);
    expect(formatSummary(result)).toMatch(/requests sent: 20\n {2}status codes: 200=20\n {2}errors: none\n {2}failures: 0\n {2}latency ms: p50=\d+\.\d p95=/);
  });

  it('keeps sending for the duration at the requested rate when max-requests is not reached', async () => {
    const { url, hits } = await serve((_req, res) => res.end('ok'));
    const result = await runTraffic(options({ target: url, rate: 20, durationSeconds: 1, maxRequests: 1000 }));
    // 20 req/s for 1 s: ticks at 0, 50, ..., 950 ms.
    expect(result.sent).toBeGreaterThanOrEqual(18);
    expect(result.sent).toBeLessThanOrEqual(20);
    expect(hits).toHaveLength(result.sent);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(950);
    expect(result.elapsedMs).toBeLessThan(2000);
  });

  it('counts 4xx/5xx answers as failures and exits non-zero when every request failed', async () => {
    const { url } = await serve((_req, res) => {
      res.statusCode = 503;
      res.end('no healthy upstream');
    });
    const result = await runTraffic(options({ target: url, maxRequests: 6 }));
    expect(Object.fromEntries(result.statusCounts)).toEqual({ 503: 6 });
    expect(result.failures).toBe(6);
    expect(exitCodeFor(result)).toBe(1);
    expect(formatSummary(result)).toContain(`error: every request to ${url} failed`);
  });

  it('exits 0 when only some requests failed, and reports both status codes', async () => {
    let n = 0;
    const { url } = await serve((_req, res) => {
      res.statusCode = n++ % 2 === 0 ? 200 : 502;
      res.end();
    });
    const result = await runTraffic(options({ target: url, maxRequests: 4 }));
    expect(Object.fromEntries(result.statusCounts)).toEqual({ 200: 2, 502: 2 });
    expect(result.failures).toBe(2);
    expect(exitCodeFor(result)).toBe(0);
  });

  it('reports timeouts as an error kind', async () => {
    const { url } = await serve(() => undefined); // never answers
    const result = await runTraffic(options({ target: url, maxRequests: 2, timeoutMs: 200 }));
    expect(Object.fromEntries(result.errorCounts)).toEqual({ timeout: 2 });
    expect(exitCodeFor(result)).toBe(1);
  });

  it(`never has more than ${MAX_IN_FLIGHT} requests open; a stop signal aborts the rest and still summarizes`, async () => {
    const { url, hits } = await serve(() => undefined); // never answers
    const stop = new AbortController();
    const running = runTraffic(options({ target: url, rate: 200, maxRequests: 150, timeoutMs: 20_000 }), stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // all 150 ticks are due after 750 ms
    stop.abort();
    const result = await running;
    expect(result.sent).toBe(MAX_IN_FLIGHT);
    expect(result.skipped).toBe(50);
    expect(hits).toHaveLength(MAX_IN_FLIGHT);
    expect(Object.fromEntries(result.errorCounts)).toEqual({ aborted: MAX_IN_FLIGHT });
    expect(result.interrupted).toBe(true);
    expect(formatSummary(result)).toContain('(interrupted)');
  });

  it('stops early with a message naming the URL when nothing listens there', async () => {
    const target = `http://127.0.0.1:${await closedPort()}`;
    const result = await runTraffic(options({ target, rate: 10, durationSeconds: 30, maxRequests: 300 }));
    expect(result.unreachable).toBe(`cannot reach ${target} (ECONNREFUSED): is the app running and the URL right?`);
    expect(result.sent).toBeLessThan(5);
    expect(result.elapsedMs).toBeLessThan(5000);
    expect(exitCodeFor(result)).toBe(1);
    expect(formatSummary(result)).toContain(`error: cannot reach ${target} (ECONNREFUSED)`);
  });
});
