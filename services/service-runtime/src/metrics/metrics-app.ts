import express, { type Express } from 'express';
import type { OpenMetricsRegistry } from './registry';

/** `GET /metrics` on its own port, so Prometheus scrapes the app directly (not Istio's merged copy). */
export function createMetricsApp(registry: OpenMetricsRegistry): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch (error) {
      next(error);
    }
  });
  return app;
}
