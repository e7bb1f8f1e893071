// The transport ships the types of its lib/ modules under types/ (mapped here).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- a .d.ts of declare-module blocks cannot be imported
/// <reference path="./pino-opentelemetry-transport-lib.d.ts" />
import { Writable } from 'node:stream';
import pino, { type Level, type MultiStreamRes } from 'pino';
// The transport's own record mapping and OTLP logger, used in this process
// (its default export only works inside pino's worker thread: see below).
import { toOpenTelemetry } from 'pino-opentelemetry-transport/lib/opentelemetry-mapper';
import { getOtlpLogger } from 'pino-opentelemetry-transport/lib/otlp-logger-shim';
import type { ServiceIdentity } from '../config/identity';
import { onTelemetryFlush } from '../telemetry/flush';

/** Per export: request deadline (connect included) and the batch processor's export timeout. */
export const OTLP_LOG_EXPORT_TIMEOUT_MS = 2000;

export interface OtlpLogExportOptions {
  service: ServiceIdentity;
  /** OTLP/HTTP logs endpoint, e.g. Loki's /otlp/v1/logs. */
  endpoint: string;
}

/**
 * Adds OTLP log export (pino-opentelemetry-transport's mapping and OTLP
 * logger) to a pino multistream.
 *
 * It runs in this process, not as a pino transport in a worker thread. The
 * worker made every shutdown wait up to 10 s when the backend was unreachable,
 * whatever the service's own deadline: thread-stream's end() blocks the main
 * thread until the worker's exporter gives up, pino calls it again from
 * process.on('exit'), and a worker with a pending DNS lookup holds process exit
 * until the resolver times out. In this process, pending sockets never hold
 * the exit, and a pending lookup only for the resolver's bound
 * (resolver-timeouts.ts), so shutdown waits for the export only as long as the
 * lifecycle's flush budget allows. Export is asynchronous I/O, so a slow
 * backend never blocks a request; the queue is bounded (2048 records, dropped beyond).
 */
export function addOtlpLogExport(streams: MultiStreamRes<Level | string>, { service, endpoint }: OtlpLogExportOptions): void {
  // The exporter builds its own resource; only OTEL_RESOURCE_ATTRIBUTES
  // matters here (host/os detectors just cost start-up time).
  process.env.OTEL_NODE_RESOURCE_DETECTORS ??= 'env';
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
  const records = new Writable({
    // pino writes one JSON line per call; emit() only queues the record.
    write(line: Buffer | string, _encoding, done) {
      try {
        otlpLogger.emit(toOpenTelemetry(JSON.parse(line.toString()) as Parameters<typeof toOpenTelemetry>[0], mapping));
      } catch (error) {
        // A line that cannot be mapped is still on stdout; say so once, not per line.
        if (failures++ === 0) process.stderr.write(`[logs] a log line could not be sent by OTLP: ${String(error)}\n`);
      }
      done();
    },
  });
  streams.add({ level: 'trace', stream: records });

  // On shutdown: export what is queued; flushTelemetry stops waiting at its budget.
  onTelemetryFlush(() => otlpLogger.shutdown());
}
