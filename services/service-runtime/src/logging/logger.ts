import { once } from 'node:events';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import type { ServiceIdentity } from '../config/identity';
import { HttpError } from '../http/errors';
import { onTelemetryFlush } from '../telemetry/flush';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: ServiceIdentity;
  level?: string;
  /** OTLP/HTTP logs endpoint (e.g. Loki's /otlp/v1/logs); unset: stdout only. */
  otlpLogsEndpoint?: string | undefined;
  /** Where JSON lines go instead of stdout (tests). */
  destination?: pino.DestinationStream;
}

/** An HttpError is an answer, not a bug: its status, code and message are enough. */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  if (err instanceof HttpError) return { type: err.name, status: err.status, code: err.code, message: err.message };
  return { type: err.name, message: err.message, stack: err.stack };
}

/**
 * The ids of the span active when a line is written (none outside a
 * request). What @opentelemetry/instrumentation-pino would add, read through
 * the API instead: one less module to patch on every restart.
 */
export function traceFields(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId, trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0') };
}

/**
 * pino JSON to stdout (Tilt shows it) and, when configured, to an OTLP logs
 * endpoint through pino-opentelemetry-transport (a worker thread, so a slow
 * or absent backend never blocks a request; its batch queue is bounded).
 * Every line written while a span is active carries trace_id/span_id.
 */
export function createLogger({ service, level = 'info', otlpLogsEndpoint, destination }: LoggerOptions): Logger {
  // Asynchronous stdout: under load, lines written while a write is pending
  // go out together instead of one syscall each (pino flushes synchronously
  // when the process exits). Bounded: if nobody reads stdout, lines beyond
  // 8 MiB are dropped instead of growing the heap.
  const stdout = destination ?? pino.destination({ dest: 1, sync: false, maxLength: 8 * 1024 * 1024 });
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: stdout }];

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
      mixin: traceFields,
      serializers: { err: serializeError },
      base: { service: service.name, version: service.version, hostname: service.hostname, pid: process.pid },
    },
    pino.multistream(streams),
  );
}
