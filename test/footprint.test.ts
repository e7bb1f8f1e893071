import { describe, expect, it } from 'vitest';
import { clusterFootprint, cpuMillicores, FOOTPRINT_BUDGET, memoryMiB, profileFootprint, readProfiles } from '../scripts/bench/footprint';

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

describe('footprint per profile (profiles.yaml, what `tilt up -- --profile=<name>` deploys)', () => {
  const profiles = readProfiles();
  const full = profileFootprint(profiles.full!);
  const lite = profileFootprint(profiles.lite!);
  const summary = (f: typeof full) => `${f.total.cpuRequest}m CPU / ${Math.round(f.total.memoryRequest)}Mi requested`;

  it('full is everything the manifests deploy', () => {
    expect(full.total).toEqual(clusterFootprint().total);
  });

  it('lite runs the mesh, the services, Jaeger and Prometheus, and no Loki, Grafana, Kiali or v2 canary', () => {
    const names = lite.parts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['meshloop/frontend', 'meshloop/business-logic', 'observability/jaeger', 'observability/prometheus', 'istio-system/istiod', 'istio-system/istio-ingressgateway']));
    for (const gone of ['observability/loki', 'observability/grafana', 'observability/kiali', 'meshloop/business-logic-v2']) expect(names).not.toContain(gone);
  });

  it('lite requests at most half the CPU and half the memory of full (an 8 GB laptop)', () => {
    expect(lite.total.cpuRequest, `lite ${summary(lite)}, full ${summary(full)}`).toBeLessThanOrEqual(full.total.cpuRequest / 2);
    expect(lite.total.memoryRequest, `lite ${summary(lite)}, full ${summary(full)}`).toBeLessThanOrEqual(full.total.memoryRequest / 2);
  });

  it('every profile fits the laptop budget, and its memory limits too', () => {
    for (const [name, profile] of Object.entries(profiles)) {
      const footprint = profileFootprint(profile);
      expect(footprint.total.memoryLimit, name).toBeLessThanOrEqual(FOOTPRINT_BUDGET.memoryLimit);
      expect(footprint.total.cpuRequest, name).toBeLessThanOrEqual(FOOTPRINT_BUDGET.cpuRequest);
    }
  });

  it('refuses a profile that names a workload no manifest deploys (a typo would silently count nothing)', () => {
    expect(() => profileFootprint({ description: '', addons: ['jaeger'], requests: { jaegr: { cpu: '1m' } } })).toThrow(/jaegr/);
  });
});
