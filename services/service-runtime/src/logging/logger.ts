import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import type { ServiceIdentity } from '../config/identity';
import { HttpError } from '../http/errors';
import { addOtlpLogExport } from './otlp-log-export';

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
 * endpoint through pino-opentelemetry-transport (see otlp-log-export.ts).
 * Every line written while a span is active carries trace_id/span_id.
 */
export function createLogger({ service, level = 'info', otlpLogsEndpoint, destination }: LoggerOptions): Logger {
  // Asynchronous stdout: under load, lines written while a write is pending
  // go out together instead of one syscall each (pino flushes synchronously
  // when the process exits). Bounded: if nobody reads stdout, lines beyond
  // 8 MiB are dropped instead of growing the heap.
  const stdout = destination ?? pino.destination({ dest: 1, sync: false, maxLength: 8 * 1024 * 1024 });
  const streams = pino.multistream([{ level: 'trace', stream: stdout }]);
  if (otlpLogsEndpoint) addOtlpLogExport(streams, { service, endpoint: otlpLogsEndpoint });

  return pino(
    {
      level,
      mixin: traceFields,
      serializers: { err: serializeError },
      base: { service: service.name, version: service.version, hostname: service.hostname, pid: process.pid },
    },
    streams,
  );
}
