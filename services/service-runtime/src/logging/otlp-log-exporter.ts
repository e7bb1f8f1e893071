// The transport ships the types of its lib/ modules under types/ (mapped here).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- a .d.ts of declare-module blocks cannot be imported
/// <reference path="./pino-opentelemetry-transport-lib.d.ts" />
import pino from 'pino';
// The transport's own record mapping and OTLP logger, used in the service
// process (its default export only works inside pino's worker thread).
import { toOpenTelemetry } from 'pino-opentelemetry-transport/lib/opentelemetry-mapper';
import { getOtlpLogger } from 'pino-opentelemetry-transport/lib/otlp-logger-shim';
import type { ServiceIdentity } from '../config/identity';

/** Per export: request deadline (connect included) and the batch processor's export timeout. */
export const OTLP_LOG_EXPORT_TIMEOUT_MS = 2000;

export interface OtlpLineExporter {
  /** Queues one pino JSON line as an OTLP log record (never throws). */
  send(line: string): void;
  /** Exports what is queued and stops. */
  shutdown(): Promise<void>;
}

/** pino-opentelemetry-transport's OTLP/HTTP logger for one service, fed with pino's JSON lines. */
export function createOtlpLineExporter(service: ServiceIdentity, endpoint: string): OtlpLineExporter {
  const otlpLogger = getOtlpLogger({
    loggerName: service.name,
    serviceVersion: service.version,
    resourceAttributes: { 'service.name': service.name, 'service.version': service.version },
    logRecordProcessorOptions: {
      recordProcessorType: 'batch',
      // OTLP/HTTP with JSON: Loki's /otlp endpoint accepts it, and so can a test.
      exporterOptions: {
        protocol: 'http',
        httpExporterOptions: {
          url: endpoint,
          timeoutMillis: OTLP_LOG_EXPORT_TIMEOUT_MS,
          // The request timeout starts only once connected; the agent's socket
          // timeout also covers a connect that is never answered.
          httpAgentOptions: { keepAlive: true, timeout: OTLP_LOG_EXPORT_TIMEOUT_MS },
        },
      },
      processorConfig: { maxQueueSize: 2048, scheduledDelayMillis: 1000, exportTimeoutMillis: OTLP_LOG_EXPORT_TIMEOUT_MS },
    },
  });
  const mapping = { messageKey: 'msg', levels: pino.levels };
  let failures = 0;
  return {
    send(line) {
      try {
        otlpLogger.emit(toOpenTelemetry(JSON.parse(line) as Parameters<typeof toOpenTelemetry>[0], mapping));
      } catch (error) {
        // A line that cannot be mapped is still on stdout; say so once, not per line.
        if (failures++ === 0) process.stderr.write(`[logs] a log line could not be sent by OTLP: ${String(error)}\n`);
      }
    },
    shutdown: () => otlpLogger.shutdown(),
  };
}
