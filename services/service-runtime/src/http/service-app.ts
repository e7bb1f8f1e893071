import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { accessLog } from '../logging/access-log';
import type { ServiceMetrics } from '../metrics/registry';
import { requestMetrics } from '../metrics/request-metrics';
import { errorHandler, notFound } from './errors';
import { healthRoutes, type Readiness } from './health';

export interface ServiceAppDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
}

/**
 * An express app with what every service has around its own routes: probes
 * (unmeasured, unlogged), the RED histogram, access logs, and after the
 * routes a JSON 404 and the one error middleware.
 */
export function createServiceApp({ logger, metrics, readiness }: ServiceAppDeps, addRoutes: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(readiness));
  app.use(requestMetrics(metrics));
  app.use(accessLog(logger));
  addRoutes(app);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
