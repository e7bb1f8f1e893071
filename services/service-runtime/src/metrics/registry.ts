import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export type OpenMetricsRegistry = Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>;

/** The one exemplar label name, everywhere (Grafana's exemplar link reads it). */
export const EXEMPLAR_TRACE_LABEL = 'trace_id';

export interface ServiceMetrics {
  registry: OpenMetricsRegistry;
  requestDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/**
 * A registry in OpenMetrics format: the Prometheus text format has no
 * exemplars. Default process/Node.js metrics plus the RED histogram.
 */
export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests served, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    // From 5 ms to 10 s: /fast lands in the first buckets, /slow (up to 10 s) in the last.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    enableExemplars: true,
    registers: [registry],
  });
  return { registry, requestDuration };
}
