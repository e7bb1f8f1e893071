import { afterEach, describe, expect, it } from 'vitest';
import { appDeps, listen } from '../../../test/support/app-deps';
import { createApp } from '../src/app';

describe('business-logic app', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function serve(options: { slowDelayScale?: number; random?: () => number } = {}) {
    const deps = appDeps('business-logic');
    const app = createApp({ ...deps, config: { service: deps.service, slowDelayScale: options.slowDelayScale ?? 1 }, random: options.random });
    const server = await listen(app);
    close = server.close;
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const response = await fetch(`${server.url}${path}`, { headers });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { get, deps };
  }

  it('GET /fast answers who served it', async () => {
    const { get } = await serve();
    const { status, body } = await get('/fast');
    expect(status).toBe(200);
    expect(body).toMatchObject({ service: 'business-logic', version: 'v1', hostname: 'test-host', endpoint: 'fast' });
  });

  it('GET /slow waits delayMs and reports it', async () => {
    const { get } = await serve();
    const started = performance.now();
    const { status, body } = await get('/slow?delayMs=120');
    expect(status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(body).toMatchObject({ endpoint: 'slow', requestedDelayMs: 120, delayMs: 120, result: { records: 1000 } });
  });

  it('SLOW_DELAY_SCALE shortens the slow path (the v2 canary)', async () => {
    const { get } = await serve({ slowDelayScale: 0.25 });
    const { body } = await get('/slow?delayMs=400');
    expect(body).toMatchObject({ requestedDelayMs: 400, delayMs: 100 });
  });

  it.each(['abc', '-1', '10001', '1.5', '1e3', '', '99999999999'])('delayMs=%s -> 400 naming the parameter', async (value) => {
    const { get } = await serve();
    const { status, body } = await get(`/slow?delayMs=${encodeURIComponent(value)}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'bad_request', parameter: 'delayMs', message: expect.stringContaining('delayMs') });
  });

  it('a repeated delayMs -> 400', async () => {
    const { get } = await serve();
    expect((await get('/slow?delayMs=1&delayMs=2')).status).toBe(400);
  });

  it('x-fail-rate answers 503 at that rate', async () => {
    const draws = [0.1, 0.5, 0.9];
    const { get } = await serve({ random: () => draws.shift() ?? 0 });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await get('/fast', { 'x-fail-rate': '0.5' })).status);
    expect(statuses).toEqual([503, 200, 200]);
  });

  it('x-fail-rate: 1 always fails, 0 never does', async () => {
    const { get } = await serve();
    expect((await get('/slow?delayMs=0', { 'x-fail-rate': '1' })).body).toMatchObject({ error: 'injected_failure' });
    expect((await get('/fast', { 'x-fail-rate': '0' })).status).toBe(200);
  });

  it.each(['2', '-0.1', 'half', '0.5.5', ''])('x-fail-rate: %j -> 400 naming the header', async (value) => {
    const { get } = await serve();
    const { status, body } = await get('/fast', { 'x-fail-rate': value });
    expect(status).toBe(400);
    expect(body).toMatchObject({ header: 'x-fail-rate' });
  });

  it('/livez and /readyz answer 200; /readyz turns 503 once shutdown begins', async () => {
    const { get, deps } = await serve();
    expect((await get('/livez')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    deps.readiness.markShuttingDown();
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/livez')).status).toBe(200);
  });

  it('an unknown path is a JSON 404', async () => {
    const { get } = await serve();
    expect(await get('/nope')).toEqual({ status: 404, body: { error: 'not_found', message: 'no route for GET /nope' } });
  });

  it('counts requests in the RED histogram by route template and status', async () => {
    const { get, deps } = await serve();
    await get('/fast');
    await get('/slow?delayMs=abc');
    await get('/nope/123');
    const text = await deps.metrics.registry.metrics();
    expect(text).toContain('http_server_request_duration_seconds_count{method="GET",route="/fast",status_code="200"} 1');
    expect(text).toContain('http_server_request_duration_seconds_count{method="GET",route="/slow",status_code="400"} 1');
    // raw unknown paths never become label values
    expect(text).toContain('http_server_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1');
    expect(text).not.toContain('/nope/123');
  });
});
