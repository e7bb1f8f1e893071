import { DownstreamClient } from '@meshloop/service-runtime';

/**
 * Headers that matter past the frontend: x-request-id (Envoy and the logs use
 * it; no propagator forwards it), x-canary (the mesh routes on it), x-fail-rate
 * (failure demo). Trace context is injected by the undici instrumentation.
 */
export const FORWARDED_HEADERS = ['x-request-id', 'x-canary', 'x-fail-rate'] as const;

/** business-logic, through service-runtime's DownstreamClient (timeout, 502/503/504 mapping). */
export class BusinessLogicClient extends DownstreamClient {
  constructor(baseUrl: string, timeoutMs: number) {
    super('business-logic', baseUrl, timeoutMs);
  }
}
