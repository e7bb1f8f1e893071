import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';

/**
 * Spans go to a Zipkin endpoint (Jaeger's Zipkin receiver, which Istio's
 * zipkin tracer also uses). The queue is bounded: when the backend is down,
 * spans beyond it are dropped, never kept in memory.
 */
export function createSpanProcessors(zipkinEndpoint: string | undefined, serviceName: string): SpanProcessor[] {
  if (!zipkinEndpoint) return [];
  const exporter = new ZipkinExporter({
    url: zipkinEndpoint,
    serviceName,
    // The exporter's own POSTs pass through the pod's Istio sidecar, which
    // would trace them (a trace per export, forever); B3 "not sampled" stops it.
    headers: { 'x-b3-sampled': '0' },
  });
  return [
    new BatchSpanProcessor(exporter, {
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 1000,
      exportTimeoutMillis: 3000,
    }),
  ];
}
