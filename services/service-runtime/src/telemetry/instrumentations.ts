import type { IncomingMessage } from 'node:http';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { InstrumentationSet } from './settings';

/** Probe and scrape paths: traced they only bury real requests in noise. */
const UNTRACED_PATHS = new Set(['/livez', '/readyz', '/metrics', '/favicon.ico']);

function isUntraced(request: IncomingMessage): boolean {
  const path = (request.url ?? '').split('?', 1)[0] ?? '';
  return UNTRACED_PATHS.has(path);
}

const httpConfig = { ignoreIncomingRequestHook: isUntraced };
// Express "middleware" and "router" layer spans (query parser, pino-http,
// metrics...) say nothing a reader needs; the request_handler span stays.
const expressConfig = { ignoreLayersType: ['middleware', 'router'] as never[] };
// Inject trace_id/span_id/trace_flags into log lines only. pino-opentelemetry-
// transport is the one OTLP log path; a second one would send every line twice.
const pinoConfig = { disableLogSending: true };

/**
 * `minimal` requires only the four instrumentation packages the services use
 * (http, express, pino, undici for fetch). `all` loads the whole
 * auto-instrumentations bundle, which requires ~40 packages and costs about
 * 0.7 s more on every hot reload (measured in BENCHMARKS.md).
 */
export function loadInstrumentations(set: InstrumentationSet): Instrumentation[] {
  if (set === 'all') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node') as typeof import('@opentelemetry/auto-instrumentations-node');
    return getNodeAutoInstrumentations({
      '@opentelemetry/instrumentation-http': httpConfig,
      '@opentelemetry/instrumentation-express': expressConfig,
      '@opentelemetry/instrumentation-pino': pinoConfig,
      // fs and dns spans would flood every trace with file reads and lookups.
      '@opentelemetry/instrumentation-fs': { enabled: false },
      '@opentelemetry/instrumentation-dns': { enabled: false },
      '@opentelemetry/instrumentation-net': { enabled: false },
    });
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { PinoInstrumentation } = require('@opentelemetry/instrumentation-pino') as typeof import('@opentelemetry/instrumentation-pino');
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return [
    new HttpInstrumentation(httpConfig),
    new ExpressInstrumentation(expressConfig),
    new PinoInstrumentation(pinoConfig),
    new UndiciInstrumentation(),
  ];
}
