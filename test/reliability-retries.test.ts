// What the mesh's retry policy does for a flaky business-logic, shown without
// Envoy: business-logic answers 503 at the rate of `x-fail-rate` (0.3 here),
// the frontend forwards that header. Between frontend and business-logic sits
// a small proxy that retries exactly as istio/mesh/business-logic-routes.yaml
// says (attempts, perTryTimeout, retryOn 5xx/reset/connect-failure).
//
// Testable here: the policy's arithmetic end to end through the real services
// (a 30% failure rate becomes ~0.3^(attempts+1)), that every retried request
// is independent (business-logic decides per request), and that the number of
// tries is bounded by the policy even when everything fails.
// Not testable without Envoy: that Istio programs this policy into the
// frontend's sidecar (the manifest tests check the VirtualService instead),
// Envoy's exact backoff and retry budget (DestinationRule maxRetries), the
// x-envoy-attempt-count header, and retries of connections reset mid-stream;
// nor that Istio's injected faults skip retries (the Faults button's aborts
// are answered by the sidecar itself and are never retried).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { durationMs } from './support/manifest-checks';
import { ofKind } from './support/manifests';
import { clusterObjects } from './support/mesh';
import { retryingProxy, type RetryPolicy, type RetryingProxy } from './support/reliability';
import { startService, stopAllServices, type ServiceProcess } from './support/services';

const FAIL_RATE = 0.3;
const REQUESTS = 1000;
const CONCURRENCY = 20;

/** The retry policy of the default business-logic route, as committed. */
function meshRetryPolicy(): RetryPolicy {
  const vs = ofKind<IVirtualService>(clusterObjects().app, 'VirtualService').find((v) => v.metadata.name === 'business-logic');
  const retries = vs?.spec?.http?.at(-1)?.retries;
  if (!retries?.attempts || !retries.perTryTimeout || !retries.retryOn) throw new Error('business-logic VirtualService has no retry policy');
  return { attempts: retries.attempts, perTryTimeoutMs: durationMs(retries.perTryTimeout)!, retryOn: retries.retryOn.split(',') };
}

async function send(url: string, headers: Record<string, string>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next += 1;
      const response = await fetch(`${url}/api/fast`, { headers });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

/** Lower bound of a binomial count: mean - 5 standard deviations (a false failure about once in 3.5 million runs). */
const atLeast = (n: number, p: number) => n * p - 5 * Math.sqrt(n * p * (1 - p));

describe('x-fail-rate 0.3 with and without the mesh retry policy', () => {
  const policy = meshRetryPolicy();
  let businessLogic: ServiceProcess;
  let direct: ServiceProcess;
  let retried: ServiceProcess;
  let proxy: RetryingProxy;

  beforeAll(async () => {
    businessLogic = await startService('business-logic', { mode: 'direct' });
    proxy = await retryingProxy(businessLogic.url, policy);
    [direct, retried] = await Promise.all([
      startService('frontend', { mode: 'direct', env: { BUSINESS_LOGIC_URL: businessLogic.url } }),
      startService('frontend', { mode: 'direct', env: { BUSINESS_LOGIC_URL: proxy.url } }),
    ]);
  });
  afterAll(async () => {
    await proxy?.close();
    await stopAllServices();
  });

  it('the committed policy retries on 5xx, reset and connect-failure', () => {
    expect(policy.retryOn).toEqual(expect.arrayContaining(['5xx', 'reset', 'connect-failure']));
    expect(policy.attempts).toBeGreaterThanOrEqual(1);
  });

  it('without retries about 70% succeed; with the mesh policy at least 99%, as 1 - 0.3^(attempts+1) predicts', async () => {
    const withoutRetries = await send(direct.url, { 'x-fail-rate': String(FAIL_RATE) });
    const triesBefore = proxy.tries.length;
    const withRetries = await send(retried.url, { 'x-fail-rate': String(FAIL_RATE) });
    const tries = proxy.tries.slice(triesBefore);
    const expected = 1 - FAIL_RATE ** (policy.attempts + 1);
    const rate = (m: Map<number, number>) => (m.get(200) ?? 0) / REQUESTS;
    console.log(
      `x-fail-rate ${FAIL_RATE}, ${REQUESTS} requests each: without retries ${(rate(withoutRetries) * 100).toFixed(1)}% ok ${JSON.stringify(Object.fromEntries(withoutRetries))}; ` +
        `with ${policy.attempts} retries ${(rate(withRetries) * 100).toFixed(2)}% ok ${JSON.stringify(Object.fromEntries(withRetries))} ` +
        `(expected ${(expected * 100).toFixed(2)}%), ${(tries.reduce((a, b) => a + b, 0) / tries.length).toFixed(2)} tries per request`,
    );
    // Without retries: each failure is the frontend's 502 (business-logic answered 503).
    expect([...withoutRetries.keys()].sort()).toEqual([200, 502]);
    expect(withoutRetries.get(200)).toBeGreaterThanOrEqual(atLeast(REQUESTS, 1 - FAIL_RATE));
    expect(withoutRetries.get(200)).toBeLessThanOrEqual(REQUESTS - atLeast(REQUESTS, FAIL_RATE));
    // With retries.
    expect(rate(withRetries)).toBeGreaterThanOrEqual(0.99);
    expect(withRetries.get(200)).toBeGreaterThanOrEqual(atLeast(REQUESTS, expected));
    expect(tries).toHaveLength(REQUESTS);
    expect(Math.max(...tries)).toBeLessThanOrEqual(policy.attempts + 1);
    // Tries follow a (truncated) geometric distribution: mean (1 - p^(n+1)) / (1 - p),
    // standard deviation about sqrt(p) / (1 - p) per request; allow 5 standard errors.
    const meanTries = tries.reduce((a, b) => a + b, 0) / REQUESTS;
    const expectedMean = (1 - FAIL_RATE ** (policy.attempts + 1)) / (1 - FAIL_RATE);
    expect(Math.abs(meanTries - expectedMean)).toBeLessThan((5 * Math.sqrt(FAIL_RATE)) / (1 - FAIL_RATE) / Math.sqrt(REQUESTS));
  }, 120_000);

  it('retries are bounded: with x-fail-rate 1 every request fails after exactly attempts + 1 tries', async () => {
    const before = proxy.tries.length;
    const statuses = new Map<number, number>();
    for (let i = 0; i < 20; i += 1) {
      const response = await fetch(`${retried.url}/api/fast`, { headers: { 'x-fail-rate': '1' } });
      expect(await response.json()).toMatchObject({ error: 'bad_gateway', downstreamStatus: 503 });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 502: 20 });
    expect(proxy.tries.slice(before)).toEqual(Array(20).fill(policy.attempts + 1));
  }, 60_000);
});
