import { Writable } from 'node:stream';
import type { Level, MultiStreamRes } from 'pino';
import type { ServiceIdentity } from '../config/identity';
import { onTelemetryFlush } from '../telemetry/flush';
import type { OtlpLineExporter } from './otlp-log-exporter';

/**
 * How long after start the exporter is loaded: its modules (the OTLP logger,
 * SDK and exporter, ~50-100 ms of requires) then stay off the path of the
 * first requests after each restart, which is what an edit waits for.
 */
export const OTLP_LOG_EXPORT_LOAD_DELAY_MS = 250;
/** Lines kept until then (dropped beyond: they are on stdout too). */
const PENDING_LINES_MAX = 2048;

export interface OtlpLogExportOptions {
  service: ServiceIdentity;
  /** OTLP/HTTP logs endpoint, e.g. Loki's /otlp/v1/logs. */
  endpoint: string;
}

/**
 * Adds OTLP log export (pino-opentelemetry-transport's mapping and OTLP
 * logger, otlp-log-exporter.ts) to a pino multistream.
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
  let exporter: OtlpLineExporter | undefined;
  let pending: string[] = [];
  const load = (): OtlpLineExporter => {
    if (!exporter) {
      // Required here, not imported at the top: loading it is what is deferred.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createOtlpLineExporter } = require('./otlp-log-exporter') as typeof import('./otlp-log-exporter');
      exporter = createOtlpLineExporter(service, endpoint);
      for (const line of pending) exporter.send(line);
      pending = [];
    }
    return exporter;
  };
  const loadLater = setTimeout(load, OTLP_LOG_EXPORT_LOAD_DELAY_MS);
  loadLater.unref();

  streams.add({
    level: 'trace',
    stream: new Writable({
      // pino writes one JSON line per call; send() only queues the record.
      write(line: Buffer | string, _encoding, done) {
        if (exporter) exporter.send(line.toString());
        else if (pending.length < PENDING_LINES_MAX) pending.push(line.toString());
        done();
      },
    }),
  });

  // On shutdown: export what is queued; flushTelemetry stops waiting at its budget.
  onTelemetryFlush(() => {
    clearTimeout(loadLater);
    return load().shutdown();
  });
}
