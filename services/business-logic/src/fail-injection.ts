import type { RequestHandler } from 'express';
import { HttpError } from '@meshloop/service-runtime';

/**
 * `x-fail-rate: 0..1` makes this answer 503 at that rate, so a developer can
 * watch Istio's retries hide a flaky service. A bad value is a 400 that
 * names the header.
 */
export function failInjection(random: () => number = Math.random): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers['x-fail-rate'];
    if (header === undefined) return next();
    const rate = typeof header === 'string' && /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(header.trim()) ? Number(header) : NaN;
    if (Number.isNaN(rate)) {
      return next(new HttpError(400, 'bad_request', 'header x-fail-rate must be a number from 0 to 1', { header: 'x-fail-rate' }));
    }
    if (random() < rate) {
      return next(new HttpError(503, 'injected_failure', `failure injected by x-fail-rate ${rate}`));
    }
    next();
  };
}
