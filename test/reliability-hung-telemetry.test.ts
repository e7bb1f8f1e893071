// Telemetry backends that accept connections and never answer (a hung Jaeger
// or Loki, the harshest way of being unreachable). Requests must not notice,
// and the exporters must give up on each hung export: its connection closed,
// so open connections stay bounded instead of piling up for as long as the
// backend hangs (each one holding a socket, a file descriptor and memory).
import { afterAll, describe, expect, it } from 'vitest';
import { blackHole, pacedLoad } from './support/reliability';
import { startService, stopAllServices } from './support/services';

afterAll(stopAllServices);

const RATE = 100;
const DURATION_MS = 30_000;
/**
 * The exporters give up on an export after a few seconds (spans:
 * exportTimeoutMillis 3 s; OTLP logs: timeoutMillis 10 s). A connection still
 * open after 15 s belongs to an export nobody waits for any more: it would
 * stay open as long as the backend hangs, and more pile up every second.
 */
const MAX_CONNECTION_AGE_MS = 15_000;

describe('hung telemetry backends', () => {
  it('every request still answers 200, and the exporters close each connection to a Zipkin and a Loki that never answer once they gave up on it', async () => {
    const zipkin = await blackHole('hang');
    const loki = await blackHole('hang');
    const env = {
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${zipkin.url}/api/v2/spans`,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${loki.url}/otlp/v1/logs`,
      NODE_OPTIONS: '--max-old-space-size=96',
    };
    const businessLogic = await startService('business-logic', { env, mode: 'direct' });
    const frontend = await startService('frontend', { env: { ...env, BUSINESS_LOGIC_URL: businessLogic.url }, mode: 'direct' });
    const run = await pacedLoad({ baseUrl: frontend.url, rate: RATE, durationMs: DURATION_MS, pathFor: () => '/api/fast' });
    const statuses = new Set(run.outcomes.map((o) => o.status ?? o.error));
    console.log(
      `hung backends, ${run.outcomes.length} requests: statuses ${[...statuses].join(',')}; ` +
        `zipkin ${zipkin.connections()} connections (${zipkin.open()} still open, oldest ${(zipkin.oldestOpenMs() / 1000).toFixed(1)} s), ` +
        `loki ${loki.connections()} (${loki.open()} still open, oldest ${(loki.oldestOpenMs() / 1000).toFixed(1)} s)`,
    );

    expect([...statuses]).toEqual([200]);
    expect(frontend.child.exitCode).toBeNull();
    expect(businessLogic.child.exitCode).toBeNull();
    expect(zipkin.connections()).toBeGreaterThan(0);
    expect(loki.connections()).toBeGreaterThan(0);
    expect(loki.oldestOpenMs(), 'age of the oldest open connection to the hung Loki (ms)').toBeLessThan(MAX_CONNECTION_AGE_MS);
    expect(zipkin.oldestOpenMs(), 'age of the oldest open connection to the hung Zipkin (ms)').toBeLessThan(MAX_CONNECTION_AGE_MS);
    await Promise.all([frontend.stop(), businessLogic.stop()]);
    await Promise.all([zipkin.close(), loki.close()]);
  }, 120_000);
});
