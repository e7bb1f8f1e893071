import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import {
  DestinationRule,
  Gateway,
  ServiceEntry,
  Sidecar,
  VirtualService,
} from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { AuthorizationPolicy, RequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { Telemetry } from '@kubernetes-models/istio/telemetry.istio.io/v1alpha1';
import { repoRoot } from './tools';

/** A Kubernetes object as read from YAML; validateManifest() checks it against its schema. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface LoadedManifest {
  /** Path relative to the repository root. */
  file: string;
  /** Position of the document in its file (0-based). */
  index: number;
  object: KubeObject;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) return yamlFiles(full);
      return /\.ya?ml$/.test(entry) ? [full] : [];
    });
}

/** Every YAML document of one file (empty documents skipped); throws on YAML syntax errors. */
export function loadYamlDocuments(file: string): unknown[] {
  const full = path.resolve(repoRoot, file);
  const documents = parseAllDocuments(readFileSync(full, 'utf8'));
  if (!Array.isArray(documents)) throw new Error(`${file}: not a YAML stream`);
  return documents.flatMap((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(`${file} (document ${index}): ${document.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<KubeObject>;
  return (
    typeof candidate.apiVersion === 'string' &&
    typeof candidate.kind === 'string' &&
    typeof candidate.metadata?.name === 'string'
  );
}

/**
 * Every Kubernetes object in the YAML files under the given folders (relative to
 * the repository root, searched recursively), in file order. `exclude` lists
 * folders or files (relative paths) to leave out. A document without
 * apiVersion, kind and metadata.name is an error, not skipped.
 */
export function loadManifests(folders: string[], exclude: string[] = []): LoadedManifest[] {
  const excluded = exclude.map((entry) => path.resolve(repoRoot, entry));
  const isExcluded = (file: string) => excluded.some((entry) => file === entry || file.startsWith(entry + path.sep));
  return folders
    .flatMap((folder) => yamlFiles(path.resolve(repoRoot, folder)))
    .filter((file) => !isExcluded(file))
    .flatMap((full) => {
      const file = path.relative(repoRoot, full);
      return loadYamlDocuments(file).map((object, index) => {
        if (!isKubeObject(object)) throw new Error(`${file} (document ${index}): needs apiVersion, kind and metadata.name`);
        return { file, index, object };
      });
    });
}

type Validatable = new (data: never) => { validate(): void };

/**
 * Schema per apiVersion/kind. @kubernetes-models/istio 2.x is generated from
 * Istio 1.18 and has no v1 classes for networking, PeerAuthentication and
 * telemetry; Istio 1.30 serves v1 with the very same schema as v1beta1 /
 * v1alpha1 (identical in its crd-all.gen.yaml), so those are validated with the
 * older class under its own apiVersion. With @kubernetes-models/istio 3.x the
 * v1 classes can be used directly.
 */
const schemas: Record<string, { model: Validatable; schemaApiVersion?: string }> = {
  'v1/Namespace': { model: Namespace },
  'v1/Service': { model: Service },
  'v1/ServiceAccount': { model: ServiceAccount },
  'v1/ConfigMap': { model: ConfigMap },
  'v1/Secret': { model: Secret },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim },
  'apps/v1/Deployment': { model: Deployment },
  'apps/v1/StatefulSet': { model: StatefulSet },
  'apps/v1/DaemonSet': { model: DaemonSet },
  'batch/v1/Job': { model: Job },
  'batch/v1/CronJob': { model: CronJob },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy },
  'rbac.authorization.k8s.io/v1/Role': { model: Role },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding },
  'networking.istio.io/v1/Gateway': { model: Gateway, schemaApiVersion: 'networking.istio.io/v1beta1' },
  'networking.istio.io/v1/VirtualService': { model: VirtualService, schemaApiVersion: 'networking.istio.io/v1beta1' },
  'networking.istio.io/v1/DestinationRule': { model: DestinationRule, schemaApiVersion: 'networking.istio.io/v1beta1' },
  'networking.istio.io/v1/ServiceEntry': { model: ServiceEntry, schemaApiVersion: 'networking.istio.io/v1beta1' },
  'networking.istio.io/v1/Sidecar': { model: Sidecar, schemaApiVersion: 'networking.istio.io/v1beta1' },
  'security.istio.io/v1/PeerAuthentication': { model: PeerAuthentication, schemaApiVersion: 'security.istio.io/v1beta1' },
  'security.istio.io/v1/AuthorizationPolicy': { model: AuthorizationPolicy },
  'security.istio.io/v1/RequestAuthentication': { model: RequestAuthentication },
  'telemetry.istio.io/v1/Telemetry': { model: Telemetry, schemaApiVersion: 'telemetry.istio.io/v1alpha1' },
};

/**
 * The product's manifests are validated by the real API server and istiod's webhook
 * (test/cluster/manifests-api.test.ts); this offline copy of the schemas remains for
 * the unit tests of scripts/mesh, which run without a cluster.
 *
 * Validates one object against the Kubernetes / Istio schema of its
 * apiVersion and kind; throws naming the object for a schema violation or for
 * a kind this project has no schema for. (The schemas check types, enums and
 * required fields; like the API server, they do not reject unknown fields.)
 */
export function validateManifest(object: KubeObject): void {
  const id = `${object.apiVersion}/${object.kind}`;
  const entry = schemas[id];
  if (!entry) throw new Error(`${id} ${object.metadata.name}: no schema known for this apiVersion/kind`);
  const data = entry.schemaApiVersion ? { ...object, apiVersion: entry.schemaApiVersion } : object;
  try {
    new entry.model(data as never).validate();
  } catch (error) {
    throw new Error(`${id} ${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Objects of one kind, typed as the caller's interface (validate them first). */
export function ofKind<T>(objects: KubeObject[], kind: string): (KubeObject & T)[] {
  return objects.filter((object) => object.kind === kind) as (KubeObject & T)[];
}
