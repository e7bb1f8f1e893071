// Static verification of the traffic management in istio/mesh/ and k8s/: the
// v2 canary, the routes that choose between v1 and v2, and the resilience
// settings (timeouts, retries, connection pool, outlier detection).
import { describe, expect, test } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IDestinationRule, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { DEFAULT_DELAY_MS } from '../services/business-logic/src/app';
import { FORWARDED_HEADERS } from '../services/frontend/src/business-logic-client';
import { MAX_IN_FLIGHT } from '../scripts/traffic/run';
import { checkRouteWeights, checkTimeoutLayering } from './support/manifest-checks';
import { ofKind, type KubeObject } from './support/manifests';
import { clusterObjects, mutatedCopy } from './support/mesh';

const { app: objects } = clusterObjects();
const deployment = (name: string) => {
  const found = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === name);
  if (!found) throw new Error(`no Deployment ${name}`);
  return found;
};
const businessLogicRoutes = () => ofKind<IVirtualService>(objects, 'VirtualService').find((v) => v.metadata.name === 'business-logic')!;
const businessLogicRule = () => ofKind<IDestinationRule>(objects, 'DestinationRule').find((d) => d.metadata.name === 'business-logic')!;

/** The first HTTP route whose match accepts these request headers (Istio's order), as Envoy would choose it. */
function routeFor(vs: IVirtualService, headers: Record<string, string>) {
  return (vs.spec?.http ?? []).find((route) => {
    if (!route.match?.length) return true;
    return route.match.some((m) =>
      Object.entries(m.headers ?? {}).every(([name, rule]) => {
        const value = headers[name];
        if (Object.keys(rule).some((k) => k !== 'exact')) throw new Error(`header match ${Object.keys(rule)} not modelled`);
        return value !== undefined && value === rule.exact;
      }),
    );
  });
}

/** subset -> weight of a route; a single destination without weight gets 100. */
function weights(route: ReturnType<typeof routeFor>): Record<string, number> {
  const destinations = route?.route ?? [];
  return Object.fromEntries(destinations.map((d) => [d.destination?.subset ?? '', d.weight ?? (destinations.length === 1 ? 100 : 0)]));
}

describe('canary: business-logic v2', () => {
  test('the v2 Deployment is v1 with version v2 and SLOW_DELAY_SCALE=0.25: same image, ServiceAccount, ports, probes and hardening', () => {
    const v1 = structuredClone(deployment('business-logic'));
    const v2 = structuredClone(deployment('business-logic-v2'));
    const v2Env = v2.spec!.template.spec!.containers[0]!.env!;
    expect(v2Env.find((v) => v.name === 'SLOW_DELAY_SCALE')?.value).toBe('0.25');
    expect(v2Env.find((v) => v.name === 'SERVICE_VERSION')?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['version']");
    expect(v2.spec!.template.metadata!.labels!.version).toBe('v2');
    // Remove exactly the intended differences; everything else must be identical.
    const strip = (d: IDeployment, version: string) => {
      for (const labels of [d.metadata!.labels!, d.spec!.template.metadata!.labels!, d.spec!.selector.matchLabels!]) {
        expect(labels.version).toBe(version);
        delete labels.version;
        delete labels['app.kubernetes.io/version'];
      }
      delete d.metadata!.name;
      const container = d.spec!.template.spec!.containers[0]!;
      container.env = container.env!.filter((v) => v.name !== 'SLOW_DELAY_SCALE');
      return d;
    };
    expect(strip(v2, 'v2')).toEqual(strip(v1, 'v1'));
  });

  test('DestinationRule subsets v1 and v2 select exactly the pods of the v1 and v2 Deployments', () => {
    const subsets = businessLogicRule().spec?.subsets ?? [];
    expect(subsets.map((s) => s.name)).toEqual(['v1', 'v2']);
    for (const subset of subsets) {
      const selected = ofKind<IDeployment>(objects, 'Deployment').filter((d) => {
        const labels = d.spec!.template.metadata!.labels!;
        return labels.app === 'business-logic' && Object.entries(subset.labels ?? {}).every(([k, v]) => labels[k] === v);
      });
      expect(selected.map((d) => d.metadata?.name)).toEqual([subset.name === 'v1' ? 'business-logic' : 'business-logic-v2']);
    }
  });

  test('by default 100% of requests go to v1; `x-canary: always` reaches v2 whatever the weights', () => {
    const vs = businessLogicRoutes();
    expect(weights(routeFor(vs, {}))).toEqual({ v1: 100, v2: 0 });
    expect(weights(routeFor(vs, { 'x-canary': 'always' }))).toEqual({ v2: 100 });
    expect(weights(routeFor(vs, { 'x-canary': 'sometimes' }))).toEqual({ v1: 100, v2: 0 });
    // The header route comes first, so no weight on the default route can take it over.
    const allV1 = mutatedCopy(objects, 'VirtualService', 'business-logic', (v) => {
      const route = (v as KubeObject & IVirtualService).spec!.http!.at(-1)!;
      route.route![0]!.weight = 100;
      route.route![1]!.weight = 0;
    });
    const vsAllV1 = ofKind<IVirtualService>(allV1, 'VirtualService').find((v) => v.metadata.name === 'business-logic')!;
    expect(weights(routeFor(vsAllV1, { 'x-canary': 'always' }))).toEqual({ v2: 100 });
  });

  test('the frontend forwards x-canary (and x-fail-rate, x-request-id) to business-logic, so the header route sees it', () => {
    expect(FORWARDED_HEADERS).toEqual(expect.arrayContaining(['x-canary', 'x-fail-rate', 'x-request-id']));
  });

  test('every weighted route gives integer weights that sum to 100', () => {
    expect(checkRouteWeights(objects)).toEqual([]);
    const broken = mutatedCopy(objects, 'VirtualService', 'business-logic', (v) => {
      (v as KubeObject & IVirtualService).spec!.http!.at(-1)!.route![1]!.weight = 20;
    });
    expect(checkRouteWeights(broken)).toEqual([expect.stringContaining('weights sum to 120, not 100')]);
  });
});

describe('resilience', () => {
  test('timeouts nest: perTry > default /slow, attempts x perTry <= route timeout < frontend DOWNSTREAM_TIMEOUT_MS (within 2 s) < gateway route', () => {
    const { problems, layers } = checkTimeoutLayering(objects, DEFAULT_DELAY_MS);
    expect(problems).toEqual([]);
    console.log('timeout layers:', layers);
    expect(layers).toEqual({ perTryTimeoutMs: 2500, attempts: 4, routeTimeoutMs: 10_000, frontendTimeoutMs: 11_000, gatewayTimeoutMs: 12_000 });

    const lateFrontend = mutatedCopy(objects, 'Deployment', 'frontend', (d) => {
      (d as KubeObject & IDeployment).spec!.template.spec!.containers[0]!.env!.find((v) => v.name === 'DOWNSTREAM_TIMEOUT_MS')!.value = '20000';
    });
    expect(checkTimeoutLayering(lateFrontend, DEFAULT_DELAY_MS).problems).toEqual([
      expect.stringContaining('DOWNSTREAM_TIMEOUT_MS 20000 is not slightly'),
      expect.stringContaining('does not exceed the frontend'),
    ]);
    const moreRetries = mutatedCopy(objects, 'VirtualService', 'business-logic', (v) => {
      for (const route of (v as KubeObject & IVirtualService).spec!.http!) route.retries!.attempts = 5;
    });
    expect(checkTimeoutLayering(moreRetries, DEFAULT_DELAY_MS).problems).toContainEqual(expect.stringContaining('5 retries x 2500 ms exceed'));
    const tightTry = mutatedCopy(objects, 'VirtualService', 'business-logic', (v) => {
      for (const route of (v as KubeObject & IVirtualService).spec!.http!) route.retries!.perTryTimeout = '2s';
    });
    expect(checkTimeoutLayering(tightTry, DEFAULT_DELAY_MS).problems).toContainEqual(expect.stringContaining('slowest default /slow (2000 ms)'));
  });

  test('the connection pool is bounded, yet above what the traffic buttons can have in flight', () => {
    const pool = businessLogicRule().spec?.trafficPolicy?.connectionPool;
    const limits = [pool?.tcp?.maxConnections, pool?.http?.http1MaxPendingRequests, pool?.http?.http2MaxRequests, pool?.http?.maxRetries];
    for (const limit of limits) {
      expect(limit).toBeTypeOf('number');
      expect(limit).toBeGreaterThanOrEqual(MAX_IN_FLIGHT);
      expect(limit).toBeLessThanOrEqual(10 * MAX_IN_FLIGHT);
    }
  });

  test('outlier detection ejects unreachable pods, never for the x-fail-rate 503s, and never the last pod of a version', () => {
    const outlier = businessLogicRule().spec?.trafficPolicy?.outlierDetection;
    expect(outlier).toMatchObject({ splitExternalLocalOriginErrors: true, consecutive5xxErrors: 0 });
    expect(outlier?.consecutiveLocalOriginFailures).toBeGreaterThan(0);
    expect(outlier?.consecutiveGatewayErrors ?? 0).toBe(0);
    // Each version runs one pod: with minHealthPercent > 0, an ejected last pod puts
    // Envoy in panic mode (it keeps routing to it) instead of answering 503 "no healthy upstream".
    expect(outlier?.minHealthPercent).toBeGreaterThan(0);
    for (const name of ['business-logic', 'business-logic-v2']) expect(deployment(name).spec?.replicas).toBe(1);
  });
});
