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
// Express "middleware" and "router" layer spans (query parser, access log,
// metrics...) say nothing a reader needs; the request_handler span stays.
const expressConfig = { ignoreLayersType: ['middleware', 'router'] as never[] };
// Query spans only inside a request's trace (the storage's background
// reconnect probe would start a root trace every second otherwise). Query
// parameters are never recorded (enhancedDatabaseReporting off): the
// statement text is the parameterised SQL ($1, $2...), with no values.
const pgConfig = { requireParentSpan: true, enhancedDatabaseReporting: false };

/**
 * `minimal` requires only the instrumentation packages the services use
 * (http, express, undici for fetch; pg when the service has a DATABASE_URL;
 * trace ids in log lines come from the logger itself). `all` loads the whole
 * auto-instrumentations bundle, which requires ~40 packages and costs about
 * 0.4–0.7 s more on every hot reload (measured in BENCHMARKS.md).
 */
export function loadInstrumentations(set: InstrumentationSet, { postgres = false } = {}): Instrumentation[] {
  if (set === 'all') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getNodeAutoInstrumentations } = require('@opentelemetry/auto-instrumentations-node') as typeof import('@opentelemetry/auto-instrumentations-node');
    return getNodeAutoInstrumentations({
      '@opentelemetry/instrumentation-http': httpConfig,
      '@opentelemetry/instrumentation-express': expressConfig,
      '@opentelemetry/instrumentation-pg': pgConfig,
      // The logger's own mixin adds trace ids (logging/logger.ts) and
      // pino-opentelemetry-transport is the one OTLP log path: this one would
      // add the ids twice and send every line twice.
      '@opentelemetry/instrumentation-pino': { enabled: false },
      // fs and dns spans would flood every trace with file reads and lookups.
      '@opentelemetry/instrumentation-fs': { enabled: false },
      '@opentelemetry/instrumentation-dns': { enabled: false },
      '@opentelemetry/instrumentation-net': { enabled: false },
    });
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation(httpConfig),
    new ExpressInstrumentation(expressConfig),
    new UndiciInstrumentation(),
  ];
  if (postgres) {
    // Only then: it costs start-up time on every hot reload (BENCHMARKS.md).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg');
    instrumentations.push(new PgInstrumentation(pgConfig));
  }
  return instrumentations;
}
