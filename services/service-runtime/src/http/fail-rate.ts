import type { Request } from 'express';
import { badRequest } from './errors';

/** 0, 1, or a decimal between them ("0.3", ".3", "1.0"); nothing else. */
const FAIL_RATE = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/;

/**
 * The `x-fail-rate` header (0..1), or undefined when absent. A bad value
 * (text, out of range, repeated) is a 400 that names the header, in every
 * service that reads or forwards it.
 */
export function failRateOf(req: Request): number | undefined {
  const header = req.headers['x-fail-rate'];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !FAIL_RATE.test(header.trim())) {
    throw badRequest('header x-fail-rate must be a number from 0 to 1', { header: 'x-fail-rate' });
  }
  return Number(header);
}
