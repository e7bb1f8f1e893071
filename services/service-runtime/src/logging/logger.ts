import { once } from 'node:events';
import pino, { type Logger } from 'pino';
import type { ServiceIdentity } from '../config/identity';
import { onTelemetryFlush } from '../telemetry/flush';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: ServiceIdentity;
  level?: string;
  /** OTLP/HTTP logs endpoint (e.g. Loki's /otlp/v1/logs); unset: stdout only. */
  otlpLogsEndpoint?: string | undefined;
}

/**
 * pino JSON to stdout (Tilt shows it) and, when configured, to an OTLP logs
 * endpoint through pino-opentelemetry-transport (a worker thread, so a slow
 * or absent backend never blocks a request; its batch queue is bounded).
 * The pino instrumentation (preload) adds trace_id/span_id to every line
 * written while a span is active.
 */
export function createLogger({ service, level = 'info', otlpLogsEndpoint }: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: pino.destination({ dest: 1, sync: true }) }];

  if (otlpLogsEndpoint) {
    // The transport's worker builds its own resource; only OTEL_RESOURCE_ATTRIBUTES
    // matters here (host/os detectors just cost start-up time).
    process.env.OTEL_NODE_RESOURCE_DETECTORS ??= 'env';
    const transport = pino.transport({
      target: 'pino-opentelemetry-transport',
      // The worker thread must not inherit `--import <telemetry preload>`: under
      // tsx that is TypeScript the worker cannot load, and it would start a
      // second tracer anyway.
      worker: { execArgv: [] },
      options: {
        loggerName: service.name,
        serviceVersion: service.version,
        resourceAttributes: { 'service.name': service.name, 'service.version': service.version },
        logRecordProcessorOptions: {
          recordProcessorType: 'batch',
          // OTLP/HTTP with JSON: Loki's /otlp endpoint accepts it, and so can a test.
          exporterOptions: { protocol: 'http', httpExporterOptions: { url: otlpLogsEndpoint } },
          processorConfig: { maxQueueSize: 2048, scheduledDelayMillis: 1000, exportTimeoutMillis: 3000 },
        },
      },
    });
    // A backend that is down must not take the service with it.
    transport.on('error', (error: Error) => process.stderr.write(`[logs] OTLP transport error: ${error.message}\n`));
    onTelemetryFlush(async () => {
      const closed = once(transport, 'close');
      transport.end();
      await closed;
    });
    streams.push({ level: 'trace', stream: transport });
  }

  return pino(
    {
      level,
      base: { service: service.name, version: service.version, hostname: service.hostname, pid: process.pid },
    },
    pino.multistream(streams),
  );
}
