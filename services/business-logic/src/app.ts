import { trace } from '@opentelemetry/api';
import type { Express, Request } from 'express';
import { createServiceApp, integerQuery, type ServiceAppDeps } from '@meshloop/service-runtime';
import type { BusinessLogicConfig } from './config';
import { runDataTransformation } from './data-transformation';
import { failInjection } from './fail-injection';

export interface BusinessLogicDeps extends ServiceAppDeps {
  config: Pick<BusinessLogicConfig, 'service' | 'slowDelayScale'>;
  /** Source of randomness for x-fail-rate (tests pin it). */
  random?: () => number;
}

export const MAX_DELAY_MS = 10_000;
export const DEFAULT_DELAY_MS = 2_000;

export function createApp({ config, random, ...deps }: BusinessLogicDeps): Express {
  const identity = (req: Request) => ({
    service: config.service.name,
    version: config.service.version,
    hostname: config.service.hostname,
    traceId: trace.getActiveSpan()?.spanContext().traceId,
    requestId: req.id,
  });

  return createServiceApp(deps, (app) => {
    app.get('/fast', failInjection(random), (req, res) => {
      res.json({ ...identity(req), endpoint: 'fast' });
    });

    app.get('/slow', failInjection(random), async (req, res) => {
      const requestedDelayMs = integerQuery(req, 'delayMs', { min: 0, max: MAX_DELAY_MS, fallback: DEFAULT_DELAY_MS });
      const delayMs = Math.round(requestedDelayMs * config.slowDelayScale);
      const result = await runDataTransformation(delayMs);
      req.log.info({ delayMs, records: result.records }, 'data transformation done');
      res.json({ ...identity(req), endpoint: 'slow', requestedDelayMs, delayMs, result });
    });
  });
}
