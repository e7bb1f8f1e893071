import { describe, expect, it } from 'vitest';
import { clusterFootprint, cpuMillicores, FOOTPRINT_BUDGET, memoryMiB } from '../scripts/bench/footprint';

describe('cluster footprint (everything the Tiltfile deploys)', () => {
  const footprint = clusterFootprint();

  it('counts the services with their sidecars, the add-ons, istiod and the ingress gateway', () => {
    const names = footprint.parts.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'meshloop/frontend',
        'meshloop/business-logic',
        'meshloop/business-logic-v2',
        'meshloop/postgres',
        'observability/jaeger',
        'observability/prometheus',
        'observability/loki',
        'observability/grafana',
        'observability/kiali',
        'istio-system/istiod',
        'istio-system/istio-ingressgateway',
      ]),
    );
    // Injected pods carry the sidecar's requests on top of their own container.
    const frontend = footprint.parts.find((p) => p.name === 'meshloop/frontend')!;
    const jaeger = footprint.parts.find((p) => p.name === 'observability/jaeger')!;
    expect(frontend.memoryRequest).toBeGreaterThan(0);
    expect(jaeger.memoryRequest).toBeGreaterThan(0);
  });

  it(`fits a laptop: requests <= ${FOOTPRINT_BUDGET.cpuRequest / 1000} CPU and ${FOOTPRINT_BUDGET.memoryRequest / 1024} GiB, memory limits <= ${FOOTPRINT_BUDGET.memoryLimit / 1024} GiB`, () => {
    const summary = `requests ${footprint.total.cpuRequest}m / ${Math.round(footprint.total.memoryRequest)}Mi, limits ${Math.round(footprint.total.memoryLimit)}Mi`;
    expect(footprint.total.cpuRequest, summary).toBeLessThanOrEqual(FOOTPRINT_BUDGET.cpuRequest);
    expect(footprint.total.memoryRequest, summary).toBeLessThanOrEqual(FOOTPRINT_BUDGET.memoryRequest);
    expect(footprint.total.memoryLimit, summary).toBeLessThanOrEqual(FOOTPRINT_BUDGET.memoryLimit);
  });

  it('every workload sets memory requests and limits (an unset one would hide from the budget)', () => {
    for (const part of footprint.parts) {
      expect(part.memoryRequest, part.name).toBeGreaterThan(0);
      expect(part.memoryLimit, part.name).toBeGreaterThan(0);
      expect(part.cpuRequest, part.name).toBeGreaterThan(0);
    }
  });

  it('reads Kubernetes quantities', () => {
    expect(cpuMillicores('250m')).toBe(250);
    expect(cpuMillicores('1.5')).toBe(1500);
    expect(cpuMillicores(2)).toBe(2000);
    expect(memoryMiB('512Mi')).toBe(512);
    expect(memoryMiB('1Gi')).toBe(1024);
    expect(memoryMiB('1024Ki')).toBe(1);
    expect(memoryMiB('1G')).toBeCloseTo(953.67, 1);
    expect(() => memoryMiB('lots')).toThrow(/lots/);
  });
});
