import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { quantity } from '../../test/support/manifest-checks';
import { loadManifests, loadYamlDocuments } from '../../test/support/manifests';
import { nonManifestFiles } from '../../test/support/observability';

/** CPU in millicores, memory in MiB. */
export interface Resources {
  cpuRequest: number;
  memoryRequest: number;
  cpuLimit: number;
  memoryLimit: number;
}

export interface FootprintPart extends Resources {
  name: string;
  replicas: number;
}

export interface Footprint {
  parts: FootprintPart[];
  total: Resources;
}

type Quantities = { cpu?: string | number; memory?: string | number } | undefined;
interface ResourceSpec {
  requests?: Quantities;
  limits?: Quantities;
}

export function cpuMillicores(value: string | number | undefined): number {
  // Rounded to a thousandth of a millicore: "0.1" * 1000 must stay 100.
  return value === undefined ? 0 : Math.round(quantity(value) * 1e6) / 1e3;
}

export function memoryMiB(value: string | number | undefined): number {
  return value === undefined ? 0 : quantity(value) / 2 ** 20;
}

function resourcesOf(spec: ResourceSpec | undefined): Resources {
  return {
    cpuRequest: cpuMillicores(spec?.requests?.cpu),
    memoryRequest: memoryMiB(spec?.requests?.memory),
    cpuLimit: cpuMillicores(spec?.limits?.cpu),
    memoryLimit: memoryMiB(spec?.limits?.memory),
  };
}

function add(a: Resources, b: Resources, times = 1): Resources {
  return {
    cpuRequest: a.cpuRequest + b.cpuRequest * times,
    memoryRequest: a.memoryRequest + b.memoryRequest * times,
    cpuLimit: a.cpuLimit + b.cpuLimit * times,
    memoryLimit: a.memoryLimit + b.memoryLimit * times,
  };
}

const ZERO: Resources = { cpuRequest: 0, memoryRequest: 0, cpuLimit: 0, memoryLimit: 0 };

interface Workload {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: { containers?: Array<{ resources?: ResourceSpec }>; initContainers?: Array<{ resources?: ResourceSpec; restartPolicy?: string }> };
    };
  };
}

/** A deployment profile of profiles.yaml (`tilt up -- --profile=<name>`). */
export interface Profile {
  description: string;
  addons: string[];
  canary?: boolean;
  /** Container requests that replace a workload's own: istiod or an add-on by name. */
  requests?: Record<string, { cpu?: string; memory?: string }>;
}

export function readProfiles(root = path.resolve(__dirname, '..', '..')): Record<string, Profile> {
  return parse(readFileSync(path.join(root, 'profiles.yaml'), 'utf8')) as Record<string, Profile>;
}

/** The workload (namespace/name) behind each profile-dependent part. */
const addonWorkload = (addon: string) => `observability/${addon}`;
const CANARY_WORKLOAD = 'meshloop/business-logic-v2';
const ISTIOD = 'istio-system/istiod';

/**
 * What one profile deploys: the parts of the full footprint without the add-ons
 * (and canary) it leaves out, with its requests overrides applied.
 */
export function profileFootprint(profile: Profile, full: Footprint = clusterFootprint()): Footprint {
  const all = readProfiles();
  const allAddons = new Set(Object.values(all).flatMap((p) => p.addons));
  const dropped = new Set([...allAddons].filter((a) => !profile.addons.includes(a)).map(addonWorkload));
  if (profile.canary === false) dropped.add(CANARY_WORKLOAD);
  const overrides = new Map(Object.entries(profile.requests ?? {}).map(([name, r]) => [name === 'istiod' ? ISTIOD : addonWorkload(name), r]));
  const parts = full.parts
    .filter((p) => !dropped.has(p.name))
    .map((p) => {
      const override = overrides.get(p.name);
      if (!override) return p;
      return { ...p, cpuRequest: cpuMillicores(override.cpu) * p.replicas, memoryRequest: memoryMiB(override.memory) * p.replicas };
    });
  for (const name of [...dropped, ...overrides.keys()]) {
    if (!full.parts.some((p) => p.name === name)) throw new Error(`profiles.yaml names ${name}, which no manifest deploys`);
  }
  return { parts, total: parts.reduce((sum, part) => add(sum, part), ZERO) };
}

/**
 * Everything the Tiltfile deploys in the full profile, from the manifests: the
 * services and add-ons (their containers and native sidecars), one Istio sidecar
 * per pod in an injected namespace (resources from the Istio install config),
 * istiod and the ingress gateway. Not counted: kind's own control plane.
 */
export function clusterFootprint(): Footprint {
  const docs = loadManifests(['k8s', 'observability'], nonManifestFiles).map((m) => m.object as Workload);
  const injected = new Set(
    docs.filter((d) => d.kind === 'Namespace' && d.metadata?.labels?.['istio-injection'] === 'enabled').map((d) => d.metadata?.name),
  );
  const istio = (loadYamlDocuments('istio/install/istio-config.yaml')[0] ?? {}) as {
    spec?: {
      components?: { pilot?: { k8s?: { resources?: ResourceSpec; replicaCount?: number } }; ingressGateways?: Array<{ enabled?: boolean; name?: string; k8s?: { resources?: ResourceSpec; replicaCount?: number } }> };
      values?: { global?: { proxy?: { resources?: ResourceSpec } } };
    };
  };
  const sidecar = resourcesOf(istio.spec?.values?.global?.proxy?.resources);

  const parts: FootprintPart[] = [];
  for (const doc of docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.kind ?? ''))) {
    const pod = doc.spec?.template;
    let perPod = (pod?.spec?.containers ?? []).reduce((sum, c) => add(sum, resourcesOf(c.resources)), ZERO);
    perPod = (pod?.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').reduce((sum, c) => add(sum, resourcesOf(c.resources)), perPod);
    const optedOut = pod?.metadata?.labels?.['sidecar.istio.io/inject'] === 'false' || pod?.metadata?.annotations?.['sidecar.istio.io/inject'] === 'false';
    if (injected.has(doc.metadata?.namespace) && !optedOut) perPod = add(perPod, sidecar);
    const replicas = doc.spec?.replicas ?? 1;
    parts.push({ name: `${doc.metadata?.namespace}/${doc.metadata?.name}`, replicas, ...add(ZERO, perPod, replicas) });
  }
  const pilot = istio.spec?.components?.pilot?.k8s;
  parts.push({ name: 'istio-system/istiod', replicas: pilot?.replicaCount ?? 1, ...add(ZERO, resourcesOf(pilot?.resources), pilot?.replicaCount ?? 1) });
  for (const gateway of (istio.spec?.components?.ingressGateways ?? []).filter((g) => g.enabled !== false)) {
    const replicas = gateway.k8s?.replicaCount ?? 1;
    parts.push({ name: `istio-system/${gateway.name ?? 'ingressgateway'}`, replicas, ...add(ZERO, resourcesOf(gateway.k8s?.resources), replicas) });
  }
  return { parts, total: parts.reduce((sum, part) => add(sum, part), ZERO) };
}

/** Issue budget: requests <= 1.5 CPU and 3 GiB, memory limits <= 6 GiB. */
export const FOOTPRINT_BUDGET = { cpuRequest: 1500, memoryRequest: 3072, memoryLimit: 6144 } as const;
