import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { sendWithDeadline } from './zipkin-sender';

const EXPORT_TIMEOUT_MS = 3000;

/**
 * Spans go to a Zipkin endpoint (Jaeger's Zipkin receiver, which Istio's
 * zipkin tracer also uses). The queue is bounded: when the backend is down,
 * spans beyond it are dropped, never kept in memory.
 */
export function createSpanProcessors(zipkinEndpoint: string | undefined, serviceName: string): SpanProcessor[] {
  if (!zipkinEndpoint) return [];
  // The exporter's own POSTs pass through the pod's Istio sidecar, which
  // would trace them (a trace per export, forever); B3 "not sampled" stops it.
  const headers = { 'x-b3-sampled': '0' };
  const exporter = new ZipkinExporter({ url: zipkinEndpoint, serviceName, headers });
  // The exporter's sender has no deadline; swap in one that has (its only
  // extension point is this field; test/reliability-hung-telemetry.test.ts
  // fails if a new exporter version stops using it).
  (exporter as unknown as { _send: ReturnType<typeof sendWithDeadline> })._send = sendWithDeadline(zipkinEndpoint, headers, EXPORT_TIMEOUT_MS);
  return [
    new BatchSpanProcessor(exporter, {
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 1000,
      exportTimeoutMillis: EXPORT_TIMEOUT_MS,
    }),
  ];
}
