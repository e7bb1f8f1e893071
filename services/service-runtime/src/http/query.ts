import type { Request } from 'express';
import { badRequest } from './errors';

/**
 * An integer query parameter in [min, max], or the default when absent.
 * Anything else (text, decimals, repeats, out of range) is a 400 that names
 * the parameter.
 */
export function integerQuery(req: Request, name: string, { min, max, fallback }: { min: number; max: number; fallback: number }): number {
  const value: unknown = req.query[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw badRequest(`query parameter ${name} must be an integer from ${min} to ${max}`, { parameter: name });
  }
  return Number(value);
}
