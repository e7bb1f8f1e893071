import { createMetricsApp } from '@meshloop/service-runtime';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appDeps, listen } from '../../../test/support/app-deps';
import { waitFor } from '../../../test/support/ports';
import { startPostgres, type PostgresServer } from '../../../test/support/postgres';
import { createApp } from '../src/app';
import type { DatabaseConfig } from '../src/config';
import { createStorage, type Storage } from '../src/storage';
import { runMigrations } from '../src/storage/migrate';

/** Storage against a real PostgreSQL server (test/support/postgres.ts), never a mock. */
describe('business-logic storage (real PostgreSQL)', () => {
  let pg: PostgresServer;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => pg?.destroy());
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  });

  const database = (overrides: Partial<DatabaseConfig> = {}): DatabaseConfig => ({
    url: pg.url,
    poolMax: 3,
    poolMaxWaiting: 20,
    connectTimeoutMs: 1000,
    queryTimeoutMs: 2000,
    ...overrides,
  });

  async function serve(options: { database?: DatabaseConfig | undefined; waitReady?: boolean } = {}) {
    const deps = appDeps('business-logic');
    const config = { service: deps.service, slowDelayScale: 1, database: 'database' in options ? options.database : database() };
    const storage: Storage = createStorage(config, deps);
    cleanups.push(() => storage.close());
    const server = await listen(createApp({ ...deps, config, storage }));
    cleanups.push(server.close);
    const metricsServer = await listen(createMetricsApp(deps.metrics.registry));
    cleanups.push(metricsServer.close);
    if (options.waitReady !== false && config.database) await waitFor('storage ready', () => (storage.state === 'ready' ? true : undefined), 15_000, 50);
    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const metrics = async () => (await fetch(`${metricsServer.url}/metrics`)).text();
    return { get, metrics, storage };
  }

  it('when migrations run twice (and twice at once), the second run applies nothing and the table is intact', async () => {
    const { logger } = appDeps('business-logic');
    const first = new Pool({ connectionString: pg.url, max: 2 });
    const second = new Pool({ connectionString: pg.url, max: 2 });
    cleanups.push(() => first.end(), () => second.end());
    const applied = await Promise.all([runMigrations(first, logger), runMigrations(second, logger)]);
    // The advisory lock serialises them: one applies the files (postgres-migrations'
    // own table first), the other finds them applied.
    expect(applied.flat()).toEqual(['0_create-migrations-table.sql', '1_create-transformation-results.sql']);
    await first.query("INSERT INTO transformation_results (service_version, hostname, requested_delay_ms, delay_ms, records, checksum) VALUES ('v1', 'h', 1, 1, 1, 1)");
    expect(await runMigrations(first, logger)).toEqual([]);
    const { rows } = await first.query<{ n: string }>('SELECT count(*) AS n FROM transformation_results');
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(1);
  });

  it('when /slow answers, its result is stored and /history returns it first, with its trace id', async () => {
    const { get } = await serve();
    const slow = await get('/slow?delayMs=5');
    expect(slow.status).toBe(200);
    expect(slow.body).toMatchObject({ stored: true, resultId: expect.any(Number) });
    const history = await get('/history?limit=1');
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({ endpoint: 'history', limit: 1 });
    const results = history.body.results as Array<Record<string, unknown>>;
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      id: slow.body.resultId,
      requestedDelayMs: 5,
      delayMs: 5,
      records: 1000,
      checksum: (slow.body.result as { checksum: number }).checksum,
      serviceVersion: 'v1',
      hostname: 'test-host',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('/history returns the latest results, newest first, at most limit', async () => {
    const { get } = await serve();
    const ids: number[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await get(`/slow?delayMs=${i}`)).body.resultId as number);
    const results = (await get('/history?limit=2')).body.results as Array<{ id: number }>;
    expect(results.map((r) => r.id)).toEqual([ids[2], ids[1]]);
  });

  it.each(['0', '101', 'abc', '-1', '1.5', '', '99999999999'])('when limit=%j, /history answers 400 naming the parameter', async (value) => {
    const { get } = await serve();
    const { status, body } = await get(`/history?limit=${encodeURIComponent(value)}`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'bad_request', parameter: 'limit' });
  });

  it('when DATABASE_URL is unset, /history answers 503 storage disabled and /slow still answers, storing nothing', async () => {
    const { get } = await serve({ database: undefined });
    const history = await get('/history');
    expect(history).toEqual({ status: 503, body: { error: 'storage_disabled', message: expect.stringContaining('storage disabled') } });
    const slow = await get('/slow?delayMs=1');
    expect(slow.status).toBe(200);
    expect(slow.body).toMatchObject({ stored: false });
    expect((await get('/readyz')).body).toEqual({ status: 'ready', dependencies: { postgres: 'disabled' } });
  });

  it('the pool is on the metrics port: used, idle, pending and max connections', async () => {
    const { get, metrics } = await serve();
    await get('/slow?delayMs=0');
    const text = await metrics();
    expect(text).toMatch(/^db_client_connection_count\{state="used"\} \d+$/m);
    expect(text).toMatch(/^db_client_connection_count\{state="idle"\} [1-9]\d*$/m);
    expect(text).toMatch(/^db_client_connection_pending_requests 0$/m);
    expect(text).toMatch(/^db_client_connection_max 3$/m);
    expect(text).toMatch(/^storage_available 1$/m);
  });

  it('when PostgreSQL is killed mid-load, /slow and /history answer 503 fast, /fast 200, readiness says so, and it recovers by itself', async () => {
    const { get, metrics } = await serve({ database: database({ queryTimeoutMs: 1500, connectTimeoutMs: 500 }) });
    expect((await get('/readyz')).body).toEqual({ status: 'ready', dependencies: { postgres: 'ready' } });
    const seen: Array<{ path: string; status: number; ms: number }> = [];
    let loading = true;
    // Four clients in a loop, each request timed: none may hang.
    const load = Array.from({ length: 4 }, async (_, worker) => {
      while (loading) {
        const path = ['/slow?delayMs=0', '/history?limit=5', '/fast', '/slow?delayMs=0'][worker] as string;
        const started = performance.now();
        const { status } = await get(path);
        seen.push({ path, status, ms: performance.now() - started });
      }
    });
    await waitFor('some stored results', () => (seen.filter((s) => s.status === 200 && s.path.startsWith('/slow')).length > 5 ? true : undefined));
    await pg.kill();
    await waitFor('503s from /slow and /history', () => {
      const failed = seen.filter((s) => s.status === 503);
      return failed.some((s) => s.path.startsWith('/slow')) && failed.some((s) => s.path.startsWith('/history')) ? true : undefined;
    });
    const down = await get('/history');
    expect(down).toEqual({ status: 503, body: { error: 'storage_unavailable', message: expect.stringContaining('PostgreSQL cannot be reached') } });
    expect((await get('/readyz'))).toEqual({ status: 200, body: { status: 'ready', dependencies: { postgres: 'unavailable' } } });
    expect(await metrics()).toMatch(/^storage_available 0$/m);
    const killedAt = seen.length;
    await pg.start();
    await waitFor('/history answers 200 again', async () => ((await get('/history?limit=1')).status === 200 ? true : undefined), 15_000, 50);
    loading = false;
    await Promise.all(load);
    expect(seen.filter((s) => s.path === '/fast').every((s) => s.status === 200)).toBe(true);
    expect(new Set(seen.map((s) => s.status))).toEqual(new Set([200, 503]));
    // Generous bound: a hung request would sit at the 10 s fetch timeout instead.
    expect(Math.max(...seen.map((s) => s.ms))).toBeLessThan(4000);
    expect(seen.slice(killedAt).length).toBeGreaterThan(0);
    expect((await get('/slow?delayMs=0')).body).toMatchObject({ stored: true });
  }, 60_000);

  it('when PostgreSQL is down at start, storage reports connecting/unavailable, then migrates and turns ready once it is up', async () => {
    await pg.kill();
    try {
      const { get, storage } = await serve({ waitReady: false });
      expect((await get('/history')).status).toBe(503);
      expect((await get('/fast')).status).toBe(200);
      expect(['connecting', 'unavailable']).toContain(storage.state);
    } finally {
      await pg.start();
    }
    const { get } = await serve();
    expect((await get('/history?limit=1')).status).toBe(200);
  }, 60_000);

  it('when a query outlives DB_QUERY_TIMEOUT_MS on the server, it answers 503 storage_timeout and storage stays ready', async () => {
    const { get, storage } = await serve({ database: database({ queryTimeoutMs: 300 }) });
    const pool = storage.pool as Pool;
    // Lock the table so the INSERT of /slow waits past statement_timeout.
    const locker = await pool.connect();
    await locker.query('BEGIN; LOCK TABLE transformation_results IN ACCESS EXCLUSIVE MODE');
    try {
      const started = performance.now();
      const { status, body } = await get('/slow?delayMs=0');
      expect(performance.now() - started).toBeLessThan(3000);
      expect(status).toBe(503);
      expect(body).toMatchObject({ error: 'storage_timeout' });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    await waitFor('storage ready again', () => (storage.state === 'ready' ? true : undefined), 10_000, 50);
    expect((await get('/history?limit=1')).status).toBe(200);
  });

  it('when the password is wrong, storage stays unavailable (503) and /fast still answers', async () => {
    const wrong = new URL(pg.url);
    wrong.password = 'not-the-password';
    const { get, storage } = await serve({ database: database({ url: wrong.toString() }), waitReady: false });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(storage.state).not.toBe('ready');
    expect((await get('/history')).status).toBe(503);
    expect((await get('/fast')).status).toBe(200);
  });

  it('when more requests wait than DB_POOL_MAX_WAITING allows, the extra ones get 503 storage_busy at once', async () => {
    const { get, storage } = await serve({ database: database({ poolMax: 1, poolMaxWaiting: 1 }) });
    const pool = storage.pool as Pool;
    // Hold the only connection so every query waits.
    const held = await pool.connect();
    const waiting = get('/history');
    await waitFor('one request waiting', () => (pool.waitingCount === 1 ? true : undefined), 5000, 10);
    const extra = await get('/history');
    held.release();
    expect(extra).toEqual({ status: 503, body: { error: 'storage_busy', message: expect.stringContaining('storage busy') } });
    expect((await waiting).status).toBe(200);
  });
});
