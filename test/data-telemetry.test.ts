import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { startPostgres, type PostgresServer } from './support/postgres';
import { startService, stopAllServices, type ServiceProcess } from './support/services';
import { ZipkinSink, type ZipkinSpan } from './support/telemetry-sinks';

/**
 * business-logic as a real process (its dev script, the telemetry preload)
 * with a real PostgreSQL: the pg query spans land in the request's trace,
 * and the pool's gauges are on the metrics port.
 */
describe('business-logic with PostgreSQL: spans and metrics', () => {
  const zipkin = new ZipkinSink();
  let pg: PostgresServer;
  let service: ServiceProcess;

  beforeAll(async () => {
    await zipkin.start();
    pg = await startPostgres();
    service = await startService('business-logic', { env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.url, DATABASE_URL: pg.url } });
    await waitFor('storage ready', async () => {
      const body = (await (await fetch(`${service.url}/readyz`)).json()) as { dependencies?: { postgres?: string } };
      return body.dependencies?.postgres === 'ready' ? true : undefined;
    });
  });

  afterAll(async () => {
    await stopAllServices();
    await pg?.destroy();
    await zipkin.stop();
  });

  const pgQuerySpans = (spans: ZipkinSpan[]) =>
    spans.filter((s) => s.kind === 'CLIENT' && (s.tags?.['db.system'] === 'postgresql' || s.tags?.['db.system.name'] === 'postgresql'));

  it('when /slow stores its result, the INSERT is a pg span in the same trace, under the request handler, with no parameter values', async () => {
    const response = await fetch(`${service.url}/slow?delayMs=20`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { traceId: string; hostname: string; stored: boolean };
    expect(body.stored).toBe(true);
    const spans = await waitFor('server span and a pg query span', () => {
      const found = zipkin.trace(body.traceId);
      return found.some((s) => s.kind === 'SERVER') && pgQuerySpans(found).length > 0 ? found : undefined;
    });
    const insert = pgQuerySpans(spans).find((s) => /INSERT/i.test(Object.values(s.tags ?? {}).join(' ')));
    expect(insert, `an INSERT span among ${JSON.stringify(spans.map((s) => s.name))}`).toBeDefined();
    const statement = insert!.tags?.['db.query.text'] ?? insert!.tags?.['db.statement'] ?? '';
    expect(statement).toMatch(/INSERT INTO transformation_results[\s\S]*\$1/);
    // Sanitised: the values (this host's name) are not on the span.
    expect(JSON.stringify(insert!.tags)).not.toContain(body.hostname);
    const parent = spans.find((s) => s.id === insert!.parentId);
    expect(parent?.name, 'parent of the pg span').toMatch(/request handler|data-transformation/);
    const server = spans.find((s) => s.kind === 'SERVER');
    expect(parent?.parentId === server?.id || parent?.id === server?.id).toBe(true);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([body.traceId]));
  });

  it('when /history reads, its SELECT is a pg span of that request', async () => {
    const response = await fetch(`${service.url}/history?limit=3`);
    expect(response.status).toBe(200);
    const { traceId } = (await response.json()) as { traceId: string };
    const spans = await waitFor('pg span of /history', () => {
      const found = zipkin.trace(traceId);
      return pgQuerySpans(found).some((s) => /SELECT/i.test(Object.values(s.tags ?? {}).join(' '))) ? found : undefined;
    });
    expect(spans.some((s) => s.kind === 'SERVER')).toBe(true);
  });

  it('the background reconnect probe and migrations start no traces of their own (pg spans need a parent)', async () => {
    const rootPgSpans = zipkin.received.items.filter((s) => s.parentId === undefined && (s.name.startsWith('pg') || s.tags?.['db.system'] === 'postgresql'));
    expect(rootPgSpans).toEqual([]);
  });

  it("the pool's gauges are on the metrics port", async () => {
    const text = await (await fetch(`${service.metricsUrl}`)).text();
    expect(text).toMatch(/^db_client_connection_count\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^db_client_connection_count\{state="used"\} \d+$/m);
    expect(text).toMatch(/^db_client_connection_pending_requests \d+$/m);
    expect(text).toMatch(/^db_client_connection_max 5$/m);
    expect(text).toMatch(/^storage_available 1$/m);
  });
});
