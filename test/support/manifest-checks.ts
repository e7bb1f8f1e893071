// Cross-checks between the manifests in k8s/, istio/ and ctlptl.yaml. Each
// check returns the problems it found (empty = fine), so a test can run it on
// the real files and on a deliberately broken copy.
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IContainer, IService, IServiceSpec } from 'kubernetes-models/v1';
import { ResourceRequirements, Service } from 'kubernetes-models/v1';
import type { IDestinationRule, IGateway, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import type { ITelemetry } from '@kubernetes-models/istio/telemetry.istio.io/v1alpha1';
import { type KubeObject, ofKind } from './manifests';

type Labels = Record<string, string>;

// ---------------------------------------------------------------- helpers

function selects(selector: Labels | undefined, labels: Labels | undefined): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function podLabels(deployment: IDeployment): Labels {
  return (deployment.spec?.template.metadata?.labels ?? {}) as Labels;
}

function containersOf(deployment: IDeployment): IContainer[] {
  return deployment.spec?.template.spec?.containers ?? [];
}

function namespaceOf(object: KubeObject): string {
  return object.metadata.namespace ?? 'default';
}

/** Deployments in the namespace whose pods the selector selects. */
function selectedDeployments(objects: KubeObject[], namespace: string, selector: Labels | undefined) {
  return ofKind<IDeployment>(objects, 'Deployment').filter(
    (d) => namespaceOf(d) === namespace && selects(selector, podLabels(d)),
  );
}

function containerPort(deployment: IDeployment, name: string): number | undefined {
  for (const container of containersOf(deployment)) {
    const port = container.ports?.find((p) => p.name === name);
    if (port) return port.containerPort;
  }
  return undefined;
}

/** Fully qualified name of a Service host as Istio resolves it from `namespace`. */
export function serviceFqdn(host: string, namespace: string): string {
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

function servicesByFqdn(objects: KubeObject[]): Map<string, KubeObject & IService> {
  return new Map(
    ofKind<IService>(objects, 'Service').map((s) => [`${s.metadata.name}.${namespaceOf(s)}.svc.cluster.local`, s]),
  );
}

/** A Kubernetes quantity ("50m", "128Mi", "1") as a number. */
export function quantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const units: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(value);
  const unit = match ? units[match[2] ?? ''] : undefined;
  if (!match || unit === undefined) throw new Error(`not a Kubernetes quantity: ${value}`);
  return Number(match[1]) * unit;
}

// ---------------------------------------------------------------- Kubernetes objects

/** Namespaces defined here carry istio-injection=enabled; namespaced objects name an existing namespace. */
export function checkNamespaces(objects: KubeObject[], externalNamespaces: string[]): string[] {
  const problems: string[] = [];
  const defined = ofKind(objects, 'Namespace');
  for (const ns of defined) {
    if (ns.metadata.labels?.['istio-injection'] !== 'enabled') {
      problems.push(`Namespace ${ns.metadata.name} lacks label istio-injection=enabled`);
    }
  }
  const known = new Set([...defined.map((ns) => ns.metadata.name), ...externalNamespaces]);
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
  for (const object of objects.filter((o) => !clusterScoped.has(o.kind))) {
    const ns = object.metadata.namespace;
    if (!ns) problems.push(`${object.kind} ${object.metadata.name} names no namespace`);
    else if (!known.has(ns)) problems.push(`${object.kind} ${object.metadata.name} is in unknown namespace ${ns}`);
  }
  return problems;
}

/** Each Service selects the pods of some Deployment, and its targetPorts are ports of those pods. */
export function checkServiceSelectors(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const service of ofKind<IService>(objects, 'Service')) {
    const selector = service.spec?.selector as Labels | undefined;
    const backends = selectedDeployments(objects, namespaceOf(service), selector);
    if (backends.length === 0) {
      problems.push(`Service ${service.metadata.name}: selector ${JSON.stringify(selector)} selects no Deployment's pods`);
      continue;
    }
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const deployment of backends) {
        const found = containersOf(deployment).some((c) =>
          (c.ports ?? []).some((p) => (typeof target === 'string' ? p.name === target : p.containerPort === target)),
        );
        if (!found) {
          problems.push(`Service ${service.metadata.name} port ${port.name}: targetPort ${target} is no port of Deployment ${deployment.metadata?.name}`);
        }
      }
    }
  }
  return problems;
}

/** A Deployment's selector selects its own pod template. */
export function checkDeploymentSelectors(objects: KubeObject[]): string[] {
  return ofKind<IDeployment>(objects, 'Deployment')
    .filter((d) => !selects(d.spec?.selector.matchLabels as Labels | undefined, podLabels(d)))
    .map((d) => `Deployment ${d.metadata.name}: selector does not match its pod template labels`);
}

/** Istio reads the protocol from the port name (<protocol>[-suffix]) or from appProtocol. */
export function checkServicePortNames(objects: KubeObject[]): string[] {
  const protocols = ['http', 'http2', 'https', 'grpc', 'grpc-web', 'tcp', 'tls', 'mongo', 'mysql', 'redis', 'udp'];
  const problems: string[] = [];
  for (const service of ofKind<IService>(objects, 'Service')) {
    for (const port of service.spec?.ports ?? []) {
      const name = port.name ?? '';
      const named = protocols.some((p) => name === p || name.startsWith(`${p}-`));
      if (!named && !port.appProtocol) {
        problems.push(`Service ${service.metadata.name} port ${name || port.port}: neither named for Istio nor given an appProtocol`);
      }
    }
  }
  return problems;
}

/** Each Deployment runs as its own ServiceAccount (the mesh identity), defined alongside. */
export function checkServiceAccounts(objects: KubeObject[]): string[] {
  const accounts = new Set(ofKind(objects, 'ServiceAccount').map((sa) => `${namespaceOf(sa)}/${sa.metadata.name}`));
  return ofKind<IDeployment>(objects, 'Deployment').flatMap((d) => {
    const name = d.spec?.template.spec?.serviceAccountName;
    if (!name) return [`Deployment ${d.metadata.name} sets no serviceAccountName (would run as "default")`];
    return accounts.has(`${namespaceOf(d)}/${name}`) ? [] : [`Deployment ${d.metadata.name}: ServiceAccount ${name} does not exist`];
  });
}

export const requiredLabels = [
  'app',
  'version',
  'app.kubernetes.io/name',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
];

/** Deployments and their pods carry app, version and the app.kubernetes.io labels, consistently. */
export function checkLabels(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
    for (const [where, labels] of [['metadata', d.metadata.labels ?? {}], ['pod template', podLabels(d)]] as const) {
      const missing = requiredLabels.filter((label) => !labels[label]);
      if (missing.length > 0) problems.push(`Deployment ${d.metadata.name} ${where}: missing labels ${missing.join(', ')}`);
      if (labels['app.kubernetes.io/name'] !== labels.app) problems.push(`Deployment ${d.metadata.name} ${where}: app.kubernetes.io/name differs from app`);
      if (labels['app.kubernetes.io/version'] !== labels.version) problems.push(`Deployment ${d.metadata.name} ${where}: app.kubernetes.io/version differs from version`);
    }
  }
  return problems;
}

export interface ContainerRules {
  /** Images that Tilt live-updates: the only ones allowed a writable root filesystem. */
  writableRootImages: string[];
}

/** Probes on /livez and /readyz, requests <= limits for cpu and memory, hardened securityContext. */
export function checkContainers(objects: KubeObject[], rules: ContainerRules): string[] {
  const problems: string[] = [];
  for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
    const pod = d.spec?.template.spec;
    for (const c of containersOf(d)) {
      const where = `Deployment ${d.metadata.name} container ${c.name}`;
      const portNames = new Set((c.ports ?? []).flatMap((p) => (p.name ? [p.name] : [])));
      const portNumbers = new Set((c.ports ?? []).map((p) => p.containerPort));
      for (const [kind, probe, path] of [
        ['livenessProbe', c.livenessProbe, '/livez'],
        ['readinessProbe', c.readinessProbe, '/readyz'],
      ] as const) {
        const port = probe?.httpGet?.port;
        if (probe?.httpGet?.path !== path) problems.push(`${where}: ${kind} is not an HTTP GET of ${path}`);
        else if (typeof port === 'string' ? !portNames.has(port) : !portNumbers.has(port ?? -1)) {
          problems.push(`${where}: ${kind} port ${port} is not a container port`);
        }
      }
      for (const resource of ['cpu', 'memory']) {
        const request = c.resources?.requests?.[resource];
        const limit = c.resources?.limits?.[resource];
        if (request === undefined || limit === undefined) problems.push(`${where}: needs a ${resource} request and limit`);
        else if (quantity(request) > quantity(limit)) problems.push(`${where}: ${resource} request exceeds its limit`);
      }
      const sc = c.securityContext ?? {};
      const podSc = pod?.securityContext ?? {};
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
      const uid = sc.runAsUser ?? podSc.runAsUser;
      if (uid === undefined || uid === 0) problems.push(`${where}: runAsUser must be a non-root uid`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where}: does not drop ALL capabilities`);
      if (sc.capabilities?.add?.length) problems.push(`${where}: adds capabilities`);
      if ((sc.seccompProfile ?? podSc.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccompProfile is not RuntimeDefault`);
      if (sc.privileged) problems.push(`${where}: is privileged`);
      if (sc.readOnlyRootFilesystem !== true && !rules.writableRootImages.includes(c.image ?? '')) {
        problems.push(`${where}: readOnlyRootFilesystem is not true (only live-updated images may write to it)`);
      }
      if (typeof sc.readOnlyRootFilesystem !== 'boolean') problems.push(`${where}: readOnlyRootFilesystem is not set explicitly`);
    }
  }
  return problems;
}

/** Pods keep their exemplars: no Istio metrics merging, Prometheus scrapes the app's metrics port. */
export function checkMetricsScraping(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
    const annotations = d.spec?.template.metadata?.annotations ?? {};
    const port = containerPort(d, 'http-metrics');
    const where = `Deployment ${d.metadata.name}`;
    if (port === undefined) {
      problems.push(`${where}: no container port named http-metrics`);
      continue;
    }
    if (annotations['prometheus.istio.io/merge-metrics'] !== 'false') problems.push(`${where}: Istio metrics merging is not disabled`);
    if (annotations['prometheus.io/scrape'] !== 'true') problems.push(`${where}: pod is not annotated prometheus.io/scrape: "true"`);
    if (annotations['prometheus.io/port'] !== String(port)) problems.push(`${where}: prometheus.io/port is not the http-metrics port ${port}`);
    const exposed = ofKind<IService>(objects, 'Service').some(
      (s) =>
        namespaceOf(s) === namespaceOf(d) &&
        selects(s.spec?.selector as Labels | undefined, podLabels(d)) &&
        (s.spec?.ports ?? []).some((p) => p.name === 'http-metrics' && (p.targetPort === 'http-metrics' || p.targetPort === port)),
    );
    if (!exposed) problems.push(`${where}: no Service exposes its http-metrics port as http-metrics`);
  }
  return problems;
}

/**
 * Env follows the service contract: every variable is in the contract or only
 * feeds a later $(VAR) reference; references point to earlier variables;
 * values agree with the ports, labels and the Downward API.
 */
export function checkEnv(objects: KubeObject[], contract: Set<string>): string[] {
  const problems: string[] = [];
  for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
    const labels = podLabels(d);
    for (const c of containersOf(d)) {
      const where = `Deployment ${d.metadata.name} container ${c.name}`;
      const env = c.env ?? [];
      if (c.envFrom?.length) problems.push(`${where}: envFrom hides variable names from the contract check`);
      const refs = (value: string | undefined) => [...(value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1] ?? '');
      env.forEach((variable, i) => {
        for (const ref of refs(variable.value)) {
          if (!env.slice(0, i).some((earlier) => earlier.name === ref)) problems.push(`${where}: ${variable.name} references $(${ref}), not defined before it`);
        }
        const feedsReference = env.slice(i + 1).some((later) => refs(later.value).includes(variable.name));
        if (!contract.has(variable.name) && !feedsReference) problems.push(`${where}: ${variable.name} is not in docs/service-contract.md`);
      });
      const byName = new Map(env.map((variable) => [variable.name, variable]));
      for (const [variable, portName] of [['PORT', 'http'], ['METRICS_PORT', 'http-metrics']] as const) {
        if (byName.get(variable)?.value !== String(containerPort(d, portName))) problems.push(`${where}: ${variable} is not the ${portName} container port`);
      }
      const version = byName.get('SERVICE_VERSION');
      const versionFromLabel = version?.valueFrom?.fieldRef?.fieldPath === "metadata.labels['version']";
      if (!versionFromLabel && version?.value !== labels.version) problems.push(`${where}: SERVICE_VERSION does not follow the version label`);
      if (byName.get('OTEL_SERVICE_NAME')?.value !== labels.app) problems.push(`${where}: OTEL_SERVICE_NAME is not the app label`);
      const attributes = new Map(
        (byName.get('OTEL_RESOURCE_ATTRIBUTES')?.value ?? '').split(',').map((pair) => pair.split('=') as [string, string]),
      );
      for (const [attribute, fieldPath] of [['k8s.pod.name', 'metadata.name'], ['k8s.namespace.name', 'metadata.namespace']] as const) {
        const [ref] = refs(attributes.get(attribute));
        if (!ref || byName.get(ref)?.valueFrom?.fieldRef?.fieldPath !== fieldPath) {
          problems.push(`${where}: OTEL_RESOURCE_ATTRIBUTES does not set ${attribute} from the Downward API (${fieldPath})`);
        }
      }
    }
  }
  return problems;
}

/** The kubelet waits longer than the app's own graceful shutdown before killing it. */
export function checkGracePeriod(objects: KubeObject[], shutdownSeconds: number): string[] {
  return ofKind<IDeployment>(objects, 'Deployment')
    .filter((d) => (d.spec?.template.spec?.terminationGracePeriodSeconds ?? 30) <= shutdownSeconds)
    .map((d) => `Deployment ${d.metadata.name}: terminationGracePeriodSeconds does not exceed the ${shutdownSeconds} s shutdown`);
}

// ---------------------------------------------------------------- Istio resources

/** VirtualService and DestinationRule hosts, route destinations and ports are existing Services; gateways exist. */
export function checkRoutes(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const services = servicesByFqdn(objects);
  const gateways = new Set(ofKind(objects, 'Gateway').map((g) => `${namespaceOf(g)}/${g.metadata.name}`));
  for (const vs of ofKind<IVirtualService>(objects, 'VirtualService')) {
    const ns = namespaceOf(vs);
    const where = `VirtualService ${vs.metadata.name}`;
    const boundGateways = (vs.spec?.gateways ?? []).filter((g) => g !== 'mesh');
    for (const gateway of boundGateways) {
      const id = gateway.includes('/') ? gateway : `${ns}/${gateway}`;
      if (!gateways.has(id)) problems.push(`${where}: gateway ${gateway} does not exist`);
    }
    for (const host of vs.spec?.hosts ?? []) {
      // A wildcard host is fine on a gateway-only route: the Gateway decides which hosts arrive.
      if (host === '*' && boundGateways.length > 0 && !(vs.spec?.gateways ?? []).includes('mesh')) continue;
      if (!services.has(serviceFqdn(host, ns))) problems.push(`${where}: host ${host} is no Service`);
    }
    for (const route of vs.spec?.http ?? []) {
      for (const { destination } of route.route ?? []) {
        if (!destination) {
          problems.push(`${where}: a route has no destination`);
          continue;
        }
        const service = services.get(serviceFqdn(destination.host ?? '', ns));
        if (!service) problems.push(`${where}: destination ${destination.host} is no Service`);
        else if (destination.port?.number !== undefined && !(service.spec?.ports ?? []).some((p) => p.port === destination.port?.number)) {
          problems.push(`${where}: destination port ${destination.port.number} is no port of Service ${service.metadata.name}`);
        }
      }
    }
  }
  for (const dr of ofKind<IDestinationRule>(objects, 'DestinationRule')) {
    if (!services.has(serviceFqdn(dr.spec?.host ?? '', namespaceOf(dr)))) {
      problems.push(`DestinationRule ${dr.metadata.name}: host ${dr.spec?.host} is no Service`);
    }
  }
  return problems;
}

/** Routed subsets exist in the host's DestinationRule, and every subset selects pods behind that Service. */
export function checkSubsets(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const services = servicesByFqdn(objects);
  const rules = ofKind<IDestinationRule>(objects, 'DestinationRule');
  const subsetsOf = (fqdn: string) =>
    rules.filter((dr) => serviceFqdn(dr.spec?.host ?? '', namespaceOf(dr)) === fqdn).flatMap((dr) => dr.spec?.subsets ?? []);
  for (const vs of ofKind<IVirtualService>(objects, 'VirtualService')) {
    for (const route of vs.spec?.http ?? []) {
      for (const { destination } of route.route ?? []) {
        if (!destination?.subset) continue;
        const fqdn = serviceFqdn(destination.host ?? '', namespaceOf(vs));
        if (!subsetsOf(fqdn).some((s) => s.name === destination.subset)) {
          problems.push(`VirtualService ${vs.metadata.name}: subset ${destination.subset} of ${destination.host} is in no DestinationRule`);
        }
      }
    }
  }
  for (const dr of rules) {
    const service = services.get(serviceFqdn(dr.spec?.host ?? '', namespaceOf(dr)));
    if (!service) continue; // reported by checkRoutes
    for (const subset of dr.spec?.subsets ?? []) {
      const selector = { ...(service.spec?.selector as Labels | undefined), ...(subset.labels as Labels | undefined) };
      if (selectedDeployments(objects, namespaceOf(service), selector).length === 0) {
        problems.push(`DestinationRule ${dr.metadata.name}: subset ${subset.name} (${JSON.stringify(subset.labels)}) selects no pods of Service ${service.metadata.name}`);
      }
    }
  }
  return problems;
}

/**
 * mTLS is STRICT mesh-wide; the only exceptions are PERMISSIVE port-level
 * settings (with a workload selector) on exactly the http-metrics container
 * ports of the selected workloads, and every metrics port has one.
 */
export function checkPeerAuthentication(objects: KubeObject[], rootNamespace = 'istio-system'): string[] {
  const problems: string[] = [];
  const policies = ofKind<IPeerAuthentication>(objects, 'PeerAuthentication');
  const meshWide = policies.filter((p) => namespaceOf(p) === rootNamespace && !p.spec?.selector);
  if (meshWide.length !== 1 || meshWide[0]?.spec?.mtls?.mode !== 'STRICT') problems.push(`no single mesh-wide STRICT PeerAuthentication in ${rootNamespace}`);
  const covered = new Set<string>();
  for (const policy of policies) {
    const where = `PeerAuthentication ${namespaceOf(policy)}/${policy.metadata.name}`;
    const mode = policy.spec?.mtls?.mode;
    if (mode !== undefined && mode !== 'STRICT' && mode !== 'UNSET') problems.push(`${where}: weakens mTLS to ${mode} for whole workloads`);
    const ports = Object.entries(policy.spec?.portLevelMtls ?? {});
    if (ports.length === 0) continue;
    const selector = policy.spec?.selector?.matchLabels;
    if (!selector || Object.keys(selector).length === 0) {
      problems.push(`${where}: port-level mTLS needs a workload selector`);
      continue;
    }
    const workloads = selectedDeployments(objects, namespaceOf(policy), selector);
    const metricsPorts = new Set(workloads.flatMap((d) => containerPort(d, 'http-metrics') ?? []).map(String));
    if (workloads.length === 0) problems.push(`${where}: selector selects no Deployment`);
    for (const [port, setting] of ports) {
      if (setting.mode === 'STRICT' || setting.mode === 'UNSET') continue;
      if (!metricsPorts.has(port)) problems.push(`${where}: port ${port} is ${setting.mode} but is no http-metrics port of the selected workloads`);
      else workloads.forEach((d) => covered.add(`${namespaceOf(d)}/${d.metadata.name}:${port}`));
    }
  }
  for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
    const port = containerPort(d, 'http-metrics');
    if (port !== undefined && !covered.has(`${namespaceOf(d)}/${d.metadata.name}:${port}`)) {
      problems.push(`Deployment ${d.metadata.name}: metrics port ${port} is not PERMISSIVE, Prometheus (outside the mesh) cannot scrape it`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- IstioOperator and ctlptl

interface GatewayServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  nodePort?: number;
}
interface GatewayComponent {
  name?: string;
  enabled?: boolean;
  label?: Labels;
  k8s?: { service?: IServiceSpec & { ports?: GatewayServicePort[] }; resources?: unknown };
}
export interface IstioOperatorDoc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    profile?: string;
    meshConfig?: {
      accessLogFile?: string;
      enableTracing?: boolean;
      defaultConfig?: { holdApplicationUntilProxyStarts?: boolean };
      extensionProviders?: { name?: string; zipkin?: { service?: string; port?: number } }[];
    };
    components?: { pilot?: { k8s?: { resources?: unknown } }; ingressGateways?: GatewayComponent[] };
    values?: { global?: { proxy?: { resources?: unknown } } };
  };
}

export const ingressGatewayName = 'istio-ingressgateway';
/** Pod labels the istio-ingress chart (Istio 1.30) gives the gateway unless `label` overrides them. */
const defaultIngressGatewayLabels: Labels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };

export function ingressGateway(iop: IstioOperatorDoc): GatewayComponent | undefined {
  return iop.spec?.components?.ingressGateways?.find((g) => g.name === ingressGatewayName);
}

/** The gateway Service port with this name, as the IstioOperator configures it. */
export function gatewayPort(iop: IstioOperatorDoc, name: string): GatewayServicePort | undefined {
  return ingressGateway(iop)?.k8s?.service?.ports?.find((p) => p.name === name);
}

// Field names of Istio 1.30's IstioOperator (operator/pkg/apis/types.go): istioctl
// rejects unknown fields there, so a typo would only show up at install time.
const operatorFields = {
  spec: ['profile', 'installPackagePath', 'hub', 'tag', 'namespace', 'revision', 'compatibilityVersion', 'meshConfig', 'components', 'values', 'unvalidatedValues'],
  components: ['base', 'pilot', 'cni', 'ztunnel', 'istiodRemote', 'ingressGateways', 'egressGateways'],
  component: ['enabled', 'namespace', 'hub', 'tag', 'k8s', 'name', 'label'],
  k8s: ['affinity', 'env', 'hpaSpec', 'imagePullPolicy', 'nodeSelector', 'podDisruptionBudget', 'podAnnotations', 'priorityClassName', 'readinessProbe', 'replicaCount', 'resources', 'service', 'strategy', 'tolerations', 'serviceAnnotations', 'securityContext', 'volumes', 'volumeMounts', 'overlays'],
};
const istioProfiles = ['ambient', 'default', 'demo', 'empty', 'minimal', 'openshift', 'openshift-ambient', 'preview', 'remote', 'stable'];

function unknownKeys(value: unknown, allowed: string[], where: string): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .map((key) => `${where}: unknown field ${key}`);
}

function validResources(resources: unknown, where: string, problems: string[]): void {
  try {
    new ResourceRequirements(resources as never).validate();
  } catch (error) {
    problems.push(`${where}: ${String(error)}`);
  }
  const r = resources as { requests?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined;
  if (!r?.requests?.memory || !r.limits?.memory) problems.push(`${where}: needs a memory request and limit`);
}

/** The install config: known fields, tracing/mesh settings, NodePort gateway, laptop-sized resources. */
export function checkIstioOperator(iop: IstioOperatorDoc): string[] {
  const problems: string[] = [];
  if (iop.apiVersion !== 'install.istio.io/v1alpha1' || iop.kind !== 'IstioOperator') problems.push('not an install.istio.io/v1alpha1 IstioOperator');
  const spec = iop.spec ?? {};
  problems.push(...unknownKeys(spec, operatorFields.spec, 'spec'));
  problems.push(...unknownKeys(spec.components, operatorFields.components, 'spec.components'));
  const components = Object.entries(spec.components ?? {}).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((component, i) => [`spec.components.${name}[${i}]`, component] as const),
  );
  for (const [where, component] of components) {
    problems.push(...unknownKeys(component, operatorFields.component, where));
    problems.push(...unknownKeys((component as { k8s?: unknown }).k8s, operatorFields.k8s, `${where}.k8s`));
  }
  if (!istioProfiles.includes(spec.profile ?? 'default')) problems.push(`unknown profile ${spec.profile}`);

  const mesh = spec.meshConfig ?? {};
  if (mesh.accessLogFile !== '/dev/stdout') problems.push('meshConfig.accessLogFile is not /dev/stdout');
  if (mesh.enableTracing !== true) problems.push('meshConfig.enableTracing is not true');
  if (mesh.defaultConfig?.holdApplicationUntilProxyStarts !== true) problems.push('meshConfig.defaultConfig.holdApplicationUntilProxyStarts is not true');
  const zipkin = mesh.extensionProviders?.find((p) => p.name === 'zipkin')?.zipkin;
  if (zipkin?.service !== 'jaeger.observability.svc.cluster.local' || zipkin.port !== 9411) {
    problems.push('meshConfig.extensionProviders has no zipkin provider for jaeger.observability.svc.cluster.local:9411');
  }

  const gateway = ingressGateway(iop);
  const service = gateway?.k8s?.service;
  if (gateway?.enabled !== true) problems.push(`ingress gateway ${ingressGatewayName} is not enabled`);
  if (service?.type !== 'NodePort') problems.push('ingress gateway Service is not a NodePort (kind has no LoadBalancer)');
  try {
    new Service({ metadata: { name: ingressGatewayName }, spec: service } as never).validate();
  } catch (error) {
    problems.push(`ingress gateway k8s.service: ${String(error)}`);
  }
  for (const [name, port, nodePort] of [['http2', 80, 30080], ['https', 443, 30443]] as const) {
    const p = gatewayPort(iop, name);
    if (p?.port !== port || p.nodePort !== nodePort) problems.push(`ingress gateway port ${name} is not ${port} -> NodePort ${nodePort}`);
  }
  for (const p of service?.ports ?? []) {
    // istioctl refuses privileged target ports: the gateway runs as non-root.
    if (typeof p.targetPort !== 'string' && (p.targetPort ?? p.port ?? 0) < 1024) problems.push(`ingress gateway port ${p.name}: targetPort below 1024`);
  }
  validResources(spec.components?.pilot?.k8s?.resources, 'istiod resources', problems);
  validResources(gateway?.k8s?.resources, 'ingress gateway resources', problems);
  validResources(spec.values?.global?.proxy?.resources, 'sidecar resources (values.global.proxy.resources)', problems);
  return problems;
}

/** Gateways select the ingress gateway pods and listen on its http2 port. */
export function checkGateways(objects: KubeObject[], iop: IstioOperatorDoc): string[] {
  const problems: string[] = [];
  const component = ingressGateway(iop);
  const labels = component?.label ?? defaultIngressGatewayLabels;
  const http2 = gatewayPort(iop, 'http2');
  for (const gateway of ofKind<IGateway>(objects, 'Gateway')) {
    if (!selects(gateway.spec?.selector as Labels | undefined, labels)) {
      problems.push(`Gateway ${gateway.metadata.name}: selector does not select the ${ingressGatewayName} pods`);
    }
    for (const server of gateway.spec?.servers ?? []) {
      const number = server.port?.number;
      if (number !== http2?.targetPort && number !== http2?.port) {
        problems.push(`Gateway ${gateway.metadata.name}: port ${number} is not the gateway's http2 port (${http2?.port} -> ${http2?.targetPort})`);
      }
    }
  }
  return problems;
}

/** Mesh-wide tracing: Telemetry in the root namespace, 100% sampling, to providers meshConfig defines. */
export function checkTelemetry(objects: KubeObject[], iop: IstioOperatorDoc, rootNamespace = 'istio-system'): string[] {
  const providers = new Set((iop.spec?.meshConfig?.extensionProviders ?? []).map((p) => p.name));
  const meshWide = ofKind<ITelemetry>(objects, 'Telemetry').filter((t) => namespaceOf(t) === rootNamespace && !t.spec?.selector);
  if (meshWide.length !== 1) return [`expected one mesh-wide Telemetry in ${rootNamespace}, found ${meshWide.length}`];
  const tracing = meshWide[0]?.spec?.tracing ?? [];
  const problems: string[] = [];
  if (tracing.length === 0) problems.push('mesh-wide Telemetry configures no tracing');
  for (const entry of tracing) {
    if (entry.randomSamplingPercentage !== 100) problems.push(`tracing samples ${entry.randomSamplingPercentage}% instead of 100%`);
    for (const provider of entry.providers ?? []) {
      if (!providers.has(provider.name)) problems.push(`tracing provider ${provider.name} is not in meshConfig.extensionProviders`);
    }
    if (!entry.providers?.length) problems.push('tracing names no provider');
  }
  return problems;
}

interface CtlptlDoc {
  apiVersion?: string;
  kind?: string;
  name?: string;
  port?: number;
  listenAddress?: string;
  product?: string;
  registry?: string;
  kindV1Alpha4Cluster?: {
    name?: string;
    nodes?: {
      role?: string;
      image?: string;
      extraPortMappings?: { containerPort?: number; hostPort?: number; listenAddress?: string; protocol?: string }[];
    }[];
  };
}

/** Kubernetes minors Istio 1.30 supports: istioctl 1.30.3 refuses < 1.32 (k8sversion.MinK8SVersion); 1.36 is the newest listed. */
export const istioSupportedKubernetesMinors = [32, 33, 34, 35, 36];

/** ctlptl.yaml: registry + kind cluster `meshloop` whose host ports reach the gateway NodePorts. */
export function checkCtlptl(docs: CtlptlDoc[], iop: IstioOperatorDoc): string[] {
  const problems: string[] = [];
  if (docs.some((d) => d.apiVersion !== 'ctlptl.dev/v1alpha1')) problems.push('every document needs apiVersion ctlptl.dev/v1alpha1');
  const registry = docs.find((d) => d.kind === 'Registry');
  const cluster = docs.find((d) => d.kind === 'Cluster');
  if (registry?.name !== 'meshloop-registry' || registry.port !== 5005) problems.push('no Registry meshloop-registry on port 5005');
  if (!cluster) return [...problems, 'no Cluster'];
  if (cluster.product !== 'kind') problems.push('Cluster product is not kind');
  if (cluster.registry !== registry?.name) problems.push('Cluster does not use the Registry defined here');
  const kindName = cluster.kindV1Alpha4Cluster?.name;
  if ((cluster.name ?? `kind-${kindName}`) !== 'kind-meshloop' || (kindName ?? 'meshloop') !== 'meshloop') problems.push('cluster is not named meshloop (context kind-meshloop)');
  const controlPlane = (cluster.kindV1Alpha4Cluster?.nodes ?? []).find((n) => (n.role ?? 'control-plane') === 'control-plane');
  const image = controlPlane?.image ?? '';
  const minor = /^kindest\/node:v1\.(\d+)\.\d+@sha256:[0-9a-f]{64}$/.exec(image)?.[1];
  if (!minor) problems.push(`node image ${image || '(none)'} is not a kindest/node image pinned by digest`);
  else if (!istioSupportedKubernetesMinors.includes(Number(minor))) problems.push(`Kubernetes 1.${minor} is not supported by Istio 1.30`);
  const mappings = controlPlane?.extraPortMappings ?? [];
  const nodePorts = (ingressGateway(iop)?.k8s?.service?.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : []));
  const mapped = mappings.map((m) => m.containerPort ?? 0);
  const sorted = (ports: number[]) => [...ports].sort((a, b) => a - b).join();
  if (sorted(mapped) !== sorted(nodePorts)) {
    problems.push(`extraPortMappings containerPorts ${mapped.join(',')} are not the gateway NodePorts ${nodePorts.join(',')}`);
  }
  for (const [hostPort, portName] of [[8080, 'http2'], [8443, 'https']] as const) {
    const mapping = mappings.find((m) => m.hostPort === hostPort);
    if (mapping?.containerPort !== gatewayPort(iop, portName)?.nodePort) problems.push(`host port ${hostPort} does not map to the gateway's ${portName} NodePort`);
    if (mapping && mapping.listenAddress !== '127.0.0.1') problems.push(`host port ${hostPort} listens beyond 127.0.0.1`);
  }
  return problems;
}
