// The services, started as real processes, observed by a real Jaeger v2 and a real
// Prometheus running configs derived from observability/ (only ports and service
// discovery changed): spans arrive as one trace, the RED histogram and its
// exemplars arrive in Prometheus, and every exemplar points at a real trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import {
  derivePrometheusConfig,
  jaegerTrace,
  podTarget,
  promQuery,
  queryExemplars,
  spanTag,
  startJaeger,
  startPrometheus,
  type JaegerTrace,
  type RunningJaeger,
  type RunningTool,
} from './support/observability';
import { startServices, stopAllServices, type RunningServices } from './support/services';

let jaeger: RunningJaeger | undefined;
let prometheus: RunningTool | undefined;
let services: RunningServices | undefined;
const startedAt = Date.now();
/** Trace ids the frontend answered with, per route. */
const answered: Record<'slow' | 'fast', string[]> = { slow: [], fast: [] };

async function call(path: string): Promise<string> {
  const response = await fetch(`${services!.frontendUrl}${path}`);
  const body = (await response.json()) as { traceId?: string };
  if (response.status !== 200 || !body.traceId) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body.traceId;
}

/** The trace once Jaeger has at least `minSpans` of it (exports are batched). */
function traceWithSpans(traceId: string, minSpans: number): Promise<JaegerTrace> {
  return waitFor(`trace ${traceId} with ${minSpans}+ spans in Jaeger`, async () => {
    const trace = await jaegerTrace(jaeger!.url, traceId);
    return trace && trace.spans.length >= minSpans ? trace : undefined;
  }, 30_000, 250);
}

beforeAll(async () => {
  jaeger = await startJaeger();
  services = await startServices({ env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: jaeger.zipkinUrl } });
  // The services' metrics ports as Kubernetes pod discovery would present them.
  const pod = (name: 'frontend' | 'business-logic', metricsUrl: string) =>
    podTarget({
      address: new URL(metricsUrl).host,
      namespace: 'meshloop',
      name: `${name}-6f7c9d8b5-x2v4q`,
      labels: { app: name, version: 'v1' },
      container: name,
      portName: 'http-metrics',
    });
  const derived = derivePrometheusConfig({
    scrapeInterval: '1s',
    dropJobsWithoutTargets: true,
    targets: { 'meshloop-services': [pod('frontend', services.frontendMetricsUrl), pod('business-logic', services.businessLogicMetricsUrl)] },
  });
  prometheus = await startPrometheus(derived.yaml);
  // A series only exists after its first request, and rate() needs an earlier sample:
  // one request per route first, then the traffic once Prometheus has those series.
  answered.slow.push(await call('/api/slow?delayMs=20'));
  answered.fast.push(await call('/api/fast'));
  await waitFor('the histogram series of both routes in Prometheus', async () => {
    const series = await promQuery(prometheus!.url, 'http_server_request_duration_seconds_count{job="meshloop-services"}');
    return series.length >= 4 ? true : undefined;
  }, 30_000, 250);

  for (let i = 0; i < 6; i++) {
    answered.slow.push(await call(`/api/slow?delayMs=${30 + i * 10}`));
    answered.fast.push(await call('/api/fast'));
  }
}, 180_000);

afterAll(async () => {
  await services?.stop();
  await stopAllServices();
  await prometheus?.stop();
  await jaeger?.stop();
});

describe('traces in a real Jaeger v2 (observability/jaeger/config.yaml, local ports)', () => {
  it('one /api/slow request is ONE trace: frontend and business-logic spans, data-transformation, and business-logic\'s server span is a child of frontend\'s client span', async () => {
    const traceId = answered.slow[1]!;
    const trace = await waitFor('the whole slow trace', async () => {
      const t = await traceWithSpans(traceId, 5);
      return t.spans.some((s) => s.operationName === 'data-transformation') ? t : undefined;
    }, 30_000, 250);

    const service = (processId: string) => trace.processes[processId]?.serviceName;
    expect(new Set(trace.spans.map((s) => s.traceID))).toEqual(new Set([traceId]));
    expect(new Set(trace.spans.map((s) => service(s.processID)))).toEqual(new Set(['frontend', 'business-logic']));

    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const parentOf = (spanId: string) => {
      const ref = byId.get(spanId)?.references.find((r) => r.refType === 'CHILD_OF');
      return ref ? byId.get(ref.spanID) : undefined;
    };
    const server = trace.spans.filter((s) => service(s.processID) === 'business-logic' && spanTag(s, 'span.kind') === 'server');
    expect(server).toHaveLength(1);
    const caller = parentOf(server[0]!.spanID);
    expect(caller && service(caller.processID)).toBe('frontend');
    expect(caller && spanTag(caller, 'span.kind')).toBe('client');

    // data-transformation runs inside business-logic's handling of that request.
    const transformation = trace.spans.find((s) => s.operationName === 'data-transformation')!;
    expect(service(transformation.processID)).toBe('business-logic');
    const ancestors: string[] = [];
    for (let span = parentOf(transformation.spanID); span; span = parentOf(span.spanID)) ancestors.push(span.spanID);
    expect(ancestors).toContain(server[0]!.spanID);
    expect(ancestors).toContain(caller!.spanID);

    // Exactly one root: the frontend's server span.
    const roots = trace.spans.filter((s) => !s.references.some((r) => r.refType === 'CHILD_OF'));
    expect(roots.map((s) => `${service(s.processID)} ${spanTag(s, 'span.kind')}`)).toEqual(['frontend server']);
  });
});

describe('metrics in a real Prometheus (observability/prometheus/prometheus.yml, static targets)', () => {
  it('serves the RED histogram of both services with method, route and status_code, and the service label from relabelling', async () => {
    const series = await waitFor('both services\' histograms in Prometheus', async () => {
      const result = await promQuery(prometheus!.url, 'http_server_request_duration_seconds_count{job="meshloop-services"}');
      const routes = new Set(result.map((s) => `${s.metric.service} ${s.metric.method} ${s.metric.route} ${s.metric.status_code}`));
      // A scrape may land while the traffic is still being answered: wait for one that saw all of it.
      const slowCount = Number(result.find((s) => s.metric.service === 'frontend' && s.metric.route === '/api/slow')?.value[1] ?? 0);
      return routes.has('frontend GET /api/slow 200') && routes.has('business-logic GET /slow 200') && slowCount >= answered.slow.length ? result : undefined;
    }, 30_000, 500);
    const slow = series.find((s) => s.metric.service === 'frontend' && s.metric.route === '/api/slow');
    expect(slow?.metric).toMatchObject({ namespace: 'meshloop', version: 'v1', method: 'GET', status_code: '200' });
    expect(Number(slow?.value[1])).toBeGreaterThanOrEqual(answered.slow.length);

    // The RED dashboard's p99: a number (not NaN) per service and route once two scrapes saw the traffic.
    const p99 = await waitFor('p99 per service and route', async () => {
      const result = await promQuery(
        prometheus!.url,
        'histogram_quantile(0.99, sum by (le, service, route) (rate(http_server_request_duration_seconds_bucket[1m])))',
      );
      const known = result.filter((s) => !Number.isNaN(Number(s.value[1])));
      return known.length >= 2 ? known : undefined;
    }, 30_000, 500);
    expect(p99.map((s) => `${s.metric.service} ${s.metric.route}`)).toEqual(expect.arrayContaining(['frontend /api/slow', 'business-logic /slow']));
  });

  it('/api/v1/query_exemplars returns exemplars whose trace_id are real exported traces in Jaeger', async () => {
    const exemplars = await waitFor('exemplars of the frontend histogram', async () => {
      const found = await queryExemplars(prometheus!.url, 'http_server_request_duration_seconds_bucket{service="frontend"}', startedAt);
      const all = found.flatMap((s) => s.exemplars.map((e) => ({ series: s.seriesLabels, ...e })));
      return all.some((e) => e.series.route === '/api/slow') ? all : undefined;
    }, 30_000, 500);

    const traceIds = [...new Set(exemplars.map((e) => e.labels.trace_id ?? ''))];
    expect(traceIds.length).toBeGreaterThan(0);
    for (const traceId of traceIds) {
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      // The exemplar belongs to a request this test made...
      expect([...answered.slow, ...answered.fast]).toContain(traceId);
      // ...and that request is a trace Jaeger has, spanning both services.
      const trace = await traceWithSpans(traceId, 3);
      expect(new Set(Object.values(trace.processes).map((p) => p.serviceName))).toEqual(new Set(['frontend', 'business-logic']));
    }
  });
});
