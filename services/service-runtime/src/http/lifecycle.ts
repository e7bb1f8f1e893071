import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { ConfigError } from '../config/env';
import type { ProcessConfig } from '../config/process-config';
import { createLogger } from '../logging/logger';
import { createMetricsApp } from '../metrics/metrics-app';
import { createServiceMetrics } from '../metrics/registry';
import { flushTelemetry, TELEMETRY_FLUSH_BUDGET_MS } from '../telemetry/flush';
import { Readiness } from './health';
import type { ServiceAppDeps } from './service-app';

export interface ServeOptions {
  app: Express;
  metricsApp: Express;
  port: number;
  metricsPort: number;
  logger: Logger;
  readiness: Readiness;
  /**
   * Everything (in-flight requests, log and span flush) must be done by then:
   * tsx watch force-kills 5 s after SIGTERM, Kubernetes after the grace period.
   */
  shutdownDeadlineMs?: number;
}

export interface RunningService {
  port: number;
  metricsPort: number;
  /** Same as receiving SIGTERM: stop accepting, finish in-flight, flush, exit. */
  shutdown(reason: string): Promise<void>;
}

async function listen(app: Express, port: number): Promise<Server> {
  const server = app.listen(port);
  await once(server, 'listening');
  return server;
}

/**
 * Runs a service process: listens on its port and metrics port, and on
 * SIGTERM/SIGINT turns /readyz to 503, stops accepting, lets in-flight
 * requests finish, flushes logs and spans, and exits 0 (1 if the deadline
 * forced it).
 */
export async function serve(options: ServeOptions): Promise<RunningService> {
  const { app, metricsApp, logger, readiness, shutdownDeadlineMs = 3800 } = options;
  const server = await listen(app, options.port);
  const metricsServer = await listen(metricsApp, options.metricsPort);
  const port = (server.address() as AddressInfo).port;
  const metricsPort = (metricsServer.address() as AddressInfo).port;
  logger.info({ port, metricsPort }, 'listening');

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      const started = Date.now();
      readiness.markShuttingDown();
      logger.info({ reason }, 'shutting down: finishing in-flight requests');
      const forced = setTimeout(() => {
        logger.warn('shutdown deadline reached: closing remaining connections');
        server.closeAllConnections();
        metricsServer.closeAllConnections();
      }, shutdownDeadlineMs - 500);
      forced.unref();
      const closed = Promise.all([once(server, 'close'), once(metricsServer, 'close')]);
      server.close();
      metricsServer.close();
      // Keep-alive connections hold close() open: close each one as soon as
      // its last in-flight request has been answered.
      const closeIdle = () => {
        server.closeIdleConnections();
        metricsServer.closeIdleConnections();
      };
      closeIdle();
      const idleSweep = setInterval(closeIdle, 50);
      await closed;
      clearInterval(idleSweep);
      clearTimeout(forced);
      const clean = Date.now() - started < shutdownDeadlineMs - 500;
      logger.info({ clean, ms: Date.now() - started }, 'server closed: flushing telemetry');
      await flushTelemetry(Math.max(200, Math.min(TELEMETRY_FLUSH_BUDGET_MS, shutdownDeadlineMs - (Date.now() - started))));
      process.exit(clean ? 0 : 1);
    })();
    return shuttingDown;
  };

  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return { port, metricsPort, shutdown };
}

/**
 * Runs a service's main function: a bad configuration exits 1 with the
 * message naming each variable; a crash is logged before the process dies.
 */
export function runMain(main: () => Promise<unknown>): void {
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
    process.exit(1);
  });
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  });
}

/**
 * One line per telemetry export that is off. The Tiltfile leaves an endpoint unset
 * when its backend is not deployed (a profile without Loki, `tilt up -- frontend`),
 * so the line says why nothing arrives there, instead of an export error every second.
 */
export function logExportsOff(logger: Logger, config: Pick<ProcessConfig, 'zipkinEndpoint' | 'otlpLogsEndpoint'>): void {
  if (!config.zipkinEndpoint) {
    logger.info('trace export off: OTEL_EXPORTER_ZIPKIN_ENDPOINT is not set (spans still carry ids into logs and exemplars)');
  }
  if (!config.otlpLogsEndpoint) {
    logger.info('log export off: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is not set (logs go to stdout only)');
  }
}

export interface AppDeps<C> extends ServiceAppDeps {
  config: C;
}

/**
 * A service's whole process: validated config, logger, metrics, its express
 * app (from app.ts) on PORT and /metrics on METRICS_PORT, graceful shutdown.
 */
export function runService<C extends ProcessConfig>(loadConfig: () => C, createApp: (deps: AppDeps<C>) => Express): void {
  runMain(async () => {
    const config = loadConfig();
    const logger = createLogger({ service: config.service, level: config.logLevel, otlpLogsEndpoint: config.otlpLogsEndpoint });
    logExportsOff(logger, config);
    const metrics = createServiceMetrics();
    const readiness = new Readiness();
    await serve({
      app: createApp({ config, logger, metrics, readiness }),
      metricsApp: createMetricsApp(metrics.registry),
      port: config.port,
      metricsPort: config.metricsPort,
      logger,
      readiness,
    });
  });
}
