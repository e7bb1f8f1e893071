import { trace, TraceFlags } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { EXEMPLAR_TRACE_LABEL, type ServiceMetrics } from './registry';

const UNMEASURED_PATHS = new Set(['/livez', '/readyz']);

/**
 * The route template, never the raw path: raw paths (ids, fuzzers) would
 * give every request its own time series.
 */
function routeTemplate(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}

/** Observes every request in the RED histogram, with its trace id as exemplar. */
export function requestMetrics({ requestDuration }: ServiceMetrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (UNMEASURED_PATHS.has(req.path)) return next();
    const started = process.hrtime.bigint();
    const spanContext = trace.getActiveSpan()?.spanContext();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { method: req.method, route: routeTemplate(req), status_code: String(res.statusCode) };
      const sampled = spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
      // With exemplars enabled prom-client takes only this object form; an
      // empty exemplar set (unsampled trace: no trace to link to) records none.
      // prom-client types exemplar labels as the metric's own label names; any name is valid.
      const exemplarLabels = (sampled ? { [EXEMPLAR_TRACE_LABEL]: spanContext.traceId } : {}) as Partial<typeof labels>;
      requestDuration.observe({ labels, value: seconds, exemplarLabels });
    });
    next();
  };
}
