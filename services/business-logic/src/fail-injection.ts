import type { RequestHandler } from 'express';
import { failRateOf, HttpError } from '@meshloop/service-runtime';

/**
 * `x-fail-rate: 0..1` makes this answer 503 at that rate, so a developer can
 * watch Istio's retries hide a flaky service. A bad value is a 400 that
 * names the header.
 */
export function failInjection(random: () => number = Math.random): RequestHandler {
  return (req, _res, next) => {
    const rate = failRateOf(req);
    if (rate !== undefined && random() < rate) {
      return next(new HttpError(503, 'injected_failure', `failure injected by x-fail-rate ${rate}`));
    }
    next();
  };
}
