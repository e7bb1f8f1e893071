// The observability add-on images built here (scripts/cluster/addon-images.sh)
// and the pod specs that run them (observability/<tool>/k8s.yaml), read from the
// manifests so that a test runs an image exactly as the cluster would: same
// image, args, env, user, read-only root, dropped capabilities, mounts, limits
// and probes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './tools';

/** Add-ons whose images can be built here (not Loki: AGPL module; not Grafana, Kiali: modules not served here). */
export const buildableAddons = ['jaeger', 'prometheus'] as const;
export type Addon = (typeof buildableAddons)[number];

export interface BuiltImage {
  image: string;
  id: string;
  sizeBytes: number;
}

/**
 * Builds (or, when nothing changed, re-tags from Docker's cache) the add-on
 * images into the Docker engine named by `env` (DOCKER_HOST, DOCKER). Builds
 * the binaries first when they are missing, so a cold call takes minutes.
 */
export function buildAddonImages(env: NodeJS.ProcessEnv, addons: readonly Addon[] = buildableAddons): Map<Addon, BuiltImage> {
  const out = execFileSync('bash', [path.join(repoRoot, 'scripts', 'cluster', 'addon-images.sh'), ...addons], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 60 * 60_000,
  });
  const built = new Map<Addon, BuiltImage>();
  const lines = out.trim().split('\n');
  addons.forEach((addon, i) => {
    const [image, id, size] = (lines[i] ?? '').split(' ');
    if (!image || !id || !size) throw new Error(`addon-images.sh printed no image line for ${addon}:\n${out}`);
    built.set(addon, { image, id, sizeBytes: Number(size) });
  });
  return built;
}

// ------------------------------------------------------------------- pod spec

export interface HttpProbe {
  path: string;
  port: number;
}

export interface AddonMount {
  mountPath: string;
  readOnly: boolean;
  /** Files of the ConfigMap mounted here (key -> repository path), or undefined for an emptyDir. */
  configMap?: Record<string, string>;
  emptyDirSizeLimit?: string;
}

export interface AddonPodSpec {
  image: string;
  args: string[];
  env: Record<string, string>;
  runAsUser: number;
  runAsGroup: number;
  fsGroup?: number;
  readOnlyRootFilesystem: boolean;
  allowPrivilegeEscalation: boolean;
  dropCapabilities: string[];
  memoryLimit?: string;
  cpuLimit?: string;
  /** Container port by name. */
  ports: Map<string, number>;
  readiness: HttpProbe;
  liveness: HttpProbe;
  mounts: AddonMount[];
}

type Obj = Record<string, unknown>;
const obj = (value: unknown, what: string): Obj => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object`);
  return value as Obj;
};
const list = (value: unknown): Obj[] => (Array.isArray(value) ? (value as Obj[]) : []);

/**
 * ConfigMaps observability/Tiltfile generates for an add-on, as written there:
 * `_addon('<tool>', [('<configmap>', ['<tool>/<file>', ...])], <requests>)`. Keys are file names.
 */
export function generatedConfigMaps(tool: Addon): Map<string, Record<string, string>> {
  const tiltfile = readFileSync(path.join(repoRoot, 'observability', 'Tiltfile'), 'utf8');
  const call = new RegExp(`_addon\\('${tool}',\\s*\\[((?:\\('[^']+',\\s*\\[[^\\]]*\\]\\),?\\s*)*)\\](?:,[^\\n]*)?\\)`).exec(tiltfile);
  if (!call?.[1]) throw new Error(`observability/Tiltfile has no _addon('${tool}', [...]) call`);
  const maps = new Map<string, Record<string, string>>();
  for (const entry of call[1].matchAll(/\('([^']+)',\s*\[([^\]]*)\]\)/g)) {
    const files: Record<string, string> = {};
    for (const file of (entry[2] ?? '').matchAll(/'([^']+)'/g)) {
      const relative = file[1] ?? '';
      files[path.basename(relative)] = path.join('observability', relative);
    }
    maps.set(entry[1] ?? '', files);
  }
  return maps;
}

/** The Deployment's pod spec in observability/<tool>/k8s.yaml, as the test runs it. */
export function addonPodSpec(tool: Addon): AddonPodSpec {
  const file = path.join(repoRoot, 'observability', tool, 'k8s.yaml');
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Obj);
  const deployment = docs.find((d) => d.kind === 'Deployment');
  if (!deployment) throw new Error(`${file} has no Deployment`);
  const pod = obj(obj(obj(deployment.spec, 'spec').template, 'template').spec, 'pod spec');
  const container = list(pod.containers)[0];
  if (!container) throw new Error(`${file}: the Deployment has no container`);
  const podSecurity = obj(pod.securityContext ?? {}, 'pod securityContext');
  const security = obj(container.securityContext ?? {}, 'container securityContext');
  const ports = new Map<string, number>();
  for (const port of list(container.ports)) ports.set(String(port.name), Number(port.containerPort));
  const probe = (name: 'readinessProbe' | 'livenessProbe'): HttpProbe => {
    const httpGet = obj(obj(container[name], name).httpGet, `${name}.httpGet`);
    const port = typeof httpGet.port === 'number' ? httpGet.port : ports.get(String(httpGet.port));
    if (port === undefined) throw new Error(`${file}: ${name} names port ${String(httpGet.port)}, which the container does not declare`);
    return { path: String(httpGet.path), port };
  };
  const configMaps = generatedConfigMaps(tool);
  const volumes = new Map(list(pod.volumes).map((v) => [String(v.name), v]));
  const mounts = list(container.volumeMounts).map((mount): AddonMount => {
    const volume = volumes.get(String(mount.name));
    if (!volume) throw new Error(`${file}: volumeMount ${String(mount.name)} has no volume`);
    const base = { mountPath: String(mount.mountPath), readOnly: mount.readOnly === true };
    if (volume.configMap) {
      const name = String(obj(volume.configMap, 'configMap').name);
      const files = configMaps.get(name);
      if (!files) throw new Error(`${file}: ConfigMap ${name} is not generated by observability/Tiltfile`);
      return { ...base, configMap: files };
    }
    if (volume.emptyDir) {
      const sizeLimit = obj(volume.emptyDir, 'emptyDir').sizeLimit;
      return { ...base, emptyDirSizeLimit: sizeLimit === undefined ? undefined : String(sizeLimit) };
    }
    throw new Error(`${file}: volume ${String(mount.name)} is neither a configMap nor an emptyDir`);
  });
  const limits = obj(obj(container.resources ?? {}, 'resources').limits ?? {}, 'limits');
  const env: Record<string, string> = {};
  for (const entry of list(container.env)) env[String(entry.name)] = String(entry.value);
  const runAsUser = Number(security.runAsUser ?? podSecurity.runAsUser);
  return {
    image: String(container.image),
    args: list(container.args).map(String),
    env,
    runAsUser,
    runAsGroup: Number(security.runAsGroup ?? podSecurity.runAsGroup ?? runAsUser),
    fsGroup: podSecurity.fsGroup === undefined ? undefined : Number(podSecurity.fsGroup),
    readOnlyRootFilesystem: security.readOnlyRootFilesystem === true,
    allowPrivilegeEscalation: security.allowPrivilegeEscalation !== false,
    dropCapabilities: list(obj(security.capabilities ?? {}, 'capabilities').drop as unknown).map(String),
    memoryLimit: limits.memory === undefined ? undefined : String(limits.memory),
    cpuLimit: limits.cpu === undefined ? undefined : String(limits.cpu),
    ports,
    readiness: probe('readinessProbe'),
    liveness: probe('livenessProbe'),
    mounts,
  };
}

/** Kubernetes quantity (Mi, Gi, M, plain bytes) in bytes. */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported quantity ${quantity}`);
  const factor: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  return Math.round(Number(match[1]) * (match[2] ? (factor[match[2]] ?? 1) : 1));
}

/** Kubernetes CPU quantity ("500m", "1") in CPUs. */
export function cpuQuantity(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}
