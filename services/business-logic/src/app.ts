import { trace } from '@opentelemetry/api';
import type { Express, Request } from 'express';
import { createServiceApp, integerQuery, type ServiceAppDeps } from '@meshloop/service-runtime';
import type { BusinessLogicConfig } from './config';
import { runDataTransformation } from './data-transformation';
import { failInjection } from './fail-injection';
import { disabledStorage, type Storage } from './storage';

export interface BusinessLogicDeps extends ServiceAppDeps {
  config: Pick<BusinessLogicConfig, 'service' | 'slowDelayScale'>;
  /** Source of randomness for x-fail-rate (tests pin it). */
  random?: () => number;
  /** Where /slow stores results and /history reads them (default: storage off). */
  storage?: Storage;
}

export const MAX_DELAY_MS = 10_000;
export const DEFAULT_DELAY_MS = 2_000;
export const MAX_HISTORY_LIMIT = 100;
export const DEFAULT_HISTORY_LIMIT = 20;

export function createApp({ config, random, storage = disabledStorage(), ...deps }: BusinessLogicDeps): Express {
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
      // Storage on but down: answer 503 now rather than after the work.
      const store = storage.state !== 'disabled';
      if (store) storage.assertAvailable();
      const result = await runDataTransformation(delayMs);
      req.log.info({ delayMs, records: result.records }, 'data transformation done');
      const who = identity(req);
      const resultId = store
        ? await storage.save({ serviceVersion: who.version, hostname: who.hostname, traceId: who.traceId, requestedDelayMs, delayMs, ...result })
        : undefined;
      res.json({ ...who, endpoint: 'slow', requestedDelayMs, delayMs, result, stored: store, resultId });
    });

    app.get('/history', async (req, res) => {
      const limit = integerQuery(req, 'limit', { min: 1, max: MAX_HISTORY_LIMIT, fallback: DEFAULT_HISTORY_LIMIT });
      const results = await storage.latest(limit);
      res.json({ ...identity(req), endpoint: 'history', limit, results });
    });
  });
}
