import { trace } from '@opentelemetry/api';
import type { Express, Request, Response } from 'express';
import { createServiceApp, failRateOf, integerQuery, type ServiceAppDeps } from '@meshloop/service-runtime';
import { BusinessLogicClient, FORWARDED_HEADERS } from './business-logic-client';
import type { FrontendConfig } from './config';
import { landingPage } from './landing-page';

export interface FrontendDeps extends ServiceAppDeps {
  config: Pick<FrontendConfig, 'service' | 'businessLogicUrl' | 'downstreamTimeoutMs' | 'jaegerUiUrl'>;
}

function forwardedHeaders(req: Request): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    headers[name] = Array.isArray(value) ? value[0] : value;
  }
  headers['x-request-id'] = req.id;
  return headers;
}

export function createApp({ config, ...deps }: FrontendDeps): Express {
  const businessLogic = new BusinessLogicClient(config.businessLogicUrl, config.downstreamTimeoutMs);

  /** Calls business-logic and answers with what it said, plus who we are. */
  const relay = (endpoint: 'fast' | 'slow' | 'history', query: (req: Request) => Record<string, number | undefined>) =>
    async (req: Request, res: Response) => {
      const params = query(req);
      failRateOf(req); // forwarded: a bad value is the caller's 400, not a 502 from downstream
      const started = performance.now();
      const downstream = await businessLogic.get({ path: endpoint, query: params, headers: forwardedHeaders(req) });
      const downstreamMs = Math.round(performance.now() - started);
      req.log.info({ endpoint, downstreamMs }, 'business-logic answered');
      res.json({
        service: config.service.name,
        version: config.service.version,
        hostname: config.service.hostname,
        traceId: trace.getActiveSpan()?.spanContext().traceId,
        requestId: req.id,
        endpoint,
        downstreamMs,
        downstream,
      });
    };

  return createServiceApp(deps, (app) => {
    app.use(landingPage(config.jaegerUiUrl));
    app.get('/api/fast', relay('fast', () => ({})));
    app.get(
      '/api/slow',
      relay('slow', (req) => ({
        // Validated here too: a bad value is the caller's 400, not business-logic's.
        delayMs: req.query.delayMs === undefined ? undefined : integerQuery(req, 'delayMs', { min: 0, max: 10_000, fallback: 0 }),
      })),
    );
    // The stored /slow results, through the mesh like every other call
    // (business-logic's own port admits only the frontend).
    app.get(
      '/api/history',
      relay('history', (req) => ({
        limit: req.query.limit === undefined ? undefined : integerQuery(req, 'limit', { min: 1, max: 100, fallback: 20 }),
      })),
    );
  });
}
