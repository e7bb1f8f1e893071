// Cross-checks between the manifests in k8s/, istio/ and ctlptl.yaml. Each
// check returns the problems it found (empty = fine), so a test can run it on
// the real files and on a deliberately broken copy.
//
// Only what the real tools cannot see is checked here: project conventions and
// invariants across files. Schemas, types, required and unknown fields, requests
// within limits, selectors matching their own pod template are the API server's
// (test/cluster/manifests-api.test.ts: server-side apply, strict field validation);
// Istio objects' validity is istiod's webhook's and `istioctl validate`'s; the
// install config's fields, profile and ports are `istioctl manifest generate`'s
// (test/istioctl.test.ts, test/manifests.test.ts); references between Istio objects,
// Services and pods are `istioctl analyze`'s, against the live API server.
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IContainer, IService, IServiceSpec } from 'kubernetes-models/v1';
import type { IGateway, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import type { IAuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
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

/**
 * Namespaces defined here carry istio-injection=enabled; namespaced objects name
 * their namespace (without one, kubectl would put them in the current context's).
 * (That the namespace exists is the API server's check.)
 */
export function checkNamespaces(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const ns of ofKind(objects, 'Namespace')) {
    if (ns.metadata.labels?.['istio-injection'] !== 'enabled') {
      problems.push(`Namespace ${ns.metadata.name} lacks label istio-injection=enabled`);
    }
  }
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
  for (const object of objects.filter((o) => !clusterScoped.has(o.kind))) {
    if (!object.metadata.namespace) problems.push(`${object.kind} ${object.metadata.name} names no namespace`);
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

/** Probes on /livez and /readyz, cpu and memory requests and limits, hardened securityContext. */
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

/**
 * The hosts a mesh VirtualService claims are Services of the manifests (a gateway-only
 * route may claim "*": the Gateway decides which hosts arrive). `istioctl analyze`
 * does not look at these; it does check destinations, their ports and subsets,
 * DestinationRule hosts and bound gateways (IST0101, IST0173, IST0174).
 */
export function checkRoutes(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  const services = servicesByFqdn(objects);
  for (const vs of ofKind<IVirtualService>(objects, 'VirtualService')) {
    const gatewayOnly = (vs.spec?.gateways ?? []).length > 0 && !(vs.spec?.gateways ?? []).includes('mesh');
    for (const host of vs.spec?.hosts ?? []) {
      if (host === '*' && gatewayOnly) continue;
      if (!services.has(serviceFqdn(host, namespaceOf(vs)))) problems.push(`VirtualService ${vs.metadata.name}: host ${host} is no Service`);
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
      outboundTrafficPolicy?: { mode?: string };
    };
    components?: { pilot?: { k8s?: { resources?: unknown } }; ingressGateways?: GatewayComponent[] };
    values?: { global?: { proxy?: { resources?: unknown } } };
  };
}

export const ingressGatewayName = 'istio-ingressgateway';

export function ingressGateway(iop: IstioOperatorDoc): GatewayComponent | undefined {
  return iop.spec?.components?.ingressGateways?.find((g) => g.name === ingressGatewayName);
}

/** The gateway Service port with this name, as the IstioOperator configures it. */
export function gatewayPort(iop: IstioOperatorDoc, name: string): GatewayServicePort | undefined {
  return ingressGateway(iop)?.k8s?.service?.ports?.find((p) => p.name === name);
}

// Top-level field names of Istio 1.30's IstioOperator spec (operator/pkg/apis/types.go).
// istioctl 1.30.3 rejects unknown fields inside components, k8s and values, but an
// unknown top-level field (`meshconfig:`) passes `manifest generate` and `install`
// silently, dropping the whole section: so these are still checked here.
const operatorSpecFields = ['profile', 'installPackagePath', 'hub', 'tag', 'namespace', 'revision', 'compatibilityVersion', 'meshConfig', 'components', 'values', 'unvalidatedValues'];

function needsMemory(resources: unknown, where: string, problems: string[]): void {
  const r = resources as { requests?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined;
  if (!r?.requests?.memory || !r.limits?.memory) problems.push(`${where}: needs a memory request and limit`);
}

/**
 * The install config: known top-level fields, tracing/mesh settings, NodePort gateway
 * on the ports ctlptl.yaml maps, memory bounds everywhere. (Fields below spec, the
 * profile, quantities and privileged target ports: `istioctl manifest generate`
 * refuses them; the rendered objects: the API server, at install.)
 */
export function checkIstioOperator(iop: IstioOperatorDoc): string[] {
  const problems: string[] = [];
  if (iop.apiVersion !== 'install.istio.io/v1alpha1' || iop.kind !== 'IstioOperator') problems.push('not an install.istio.io/v1alpha1 IstioOperator');
  const spec = iop.spec ?? {};
  for (const key of Object.keys(spec).filter((k) => !operatorSpecFields.includes(k))) problems.push(`spec: unknown field ${key}`);

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
  for (const [name, port, nodePort] of [['http2', 80, 30080], ['https', 443, 30443]] as const) {
    const p = gatewayPort(iop, name);
    if (p?.port !== port || p.nodePort !== nodePort) problems.push(`ingress gateway port ${name} is not ${port} -> NodePort ${nodePort}`);
  }
  needsMemory(spec.components?.pilot?.k8s?.resources, 'istiod resources', problems);
  needsMemory(gateway?.k8s?.resources, 'ingress gateway resources', problems);
  needsMemory(spec.values?.global?.proxy?.resources, 'sidecar resources (values.global.proxy.resources)', problems);
  return problems;
}

/**
 * Gateway servers speak HTTP or HTTPS only, and HTTPS terminates TLS (SIMPLE) with a
 * credentialName Secret. (The selector selecting the gateway pods, the ports its
 * Service exposes and the Secret's existence are `istioctl analyze`'s; TLS settings on
 * every HTTPS server are istiod's webhook's.)
 */
export function checkGateways(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const gateway of ofKind<IGateway>(objects, 'Gateway')) {
    const where = `Gateway ${gateway.metadata.name}`;
    for (const server of gateway.spec?.servers ?? []) {
      const number = server.port?.number;
      const protocol = server.port?.protocol ?? '';
      if (protocol !== 'HTTP' && protocol !== 'HTTPS') problems.push(`${where}: port ${number} has protocol ${protocol}, not HTTP or HTTPS`);
      if (protocol === 'HTTPS' && (server.tls?.mode !== 'SIMPLE' || !server.tls.credentialName)) {
        problems.push(`${where}: HTTPS port ${number} does not terminate TLS (mode SIMPLE) with a credentialName`);
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

// ---------------------------------------------------------------- traffic management and security

/** An Istio/protobuf duration ("2.5s", "500ms", "1m", "1h") in milliseconds. */
export function durationMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/** Every HTTP route that splits traffic gives integer weights 0-100 that sum to 100. */
export function checkRouteWeights(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const vs of ofKind<IVirtualService>(objects, 'VirtualService')) {
    (vs.spec?.http ?? []).forEach((route, i) => {
      const destinations = route.route ?? [];
      const weights = destinations.map((d) => d.weight);
      if (destinations.length <= 1 && weights.every((w) => w === undefined || w === 100)) return;
      const where = `VirtualService ${vs.metadata.name} route ${route.name ?? i}`;
      if (weights.some((w) => w === undefined || !Number.isInteger(w) || w < 0 || w > 100)) {
        problems.push(`${where}: every destination needs an integer weight from 0 to 100, got ${JSON.stringify(weights)}`);
        return;
      }
      const sum = weights.reduce<number>((a, w) => a + (w ?? 0), 0);
      if (sum !== 100) problems.push(`${where}: weights sum to ${sum}, not 100`);
    });
  }
  return problems;
}


/** `cluster.local/ns/<namespace>/sa/<name>` -> `<namespace>/<name>`; undefined for anything else. */
export function principalAccount(principal: string): string | undefined {
  const match = /^cluster\.local\/ns\/([a-z0-9-]+)\/sa\/([a-z0-9.-]+)$/.exec(principal);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/** ServiceAccounts istioctl creates for the ingress gateways of the IstioOperator (gateways/istio-ingress chart: `<name>-service-account`). */
export function gatewayServiceAccounts(iop: IstioOperatorDoc): string[] {
  return (iop.spec?.components?.ingressGateways ?? [])
    .filter((g) => g.enabled)
    .map((g) => `istio-system/${g.name ?? ingressGatewayName}-service-account`);
}

/**
 * AuthorizationPolicies name what exists: principals are ServiceAccounts defined
 * in the manifests (or created by the Istio install), ports are container ports of
 * the selected workloads. Every namespace with workloads has a default-deny (empty)
 * policy. (A selector that selects no workload: `istioctl analyze`, IST0127.)
 */
export function checkAuthorizationPolicies(objects: KubeObject[], externalAccounts: string[]): string[] {
  const problems: string[] = [];
  const accounts = new Set([...ofKind(objects, 'ServiceAccount').map((sa) => `${namespaceOf(sa)}/${sa.metadata.name}`), ...externalAccounts]);
  const policies = ofKind<IAuthorizationPolicy>(objects, 'AuthorizationPolicy');
  for (const policy of policies) {
    const where = `AuthorizationPolicy ${namespaceOf(policy)}/${policy.metadata.name}`;
    const selector = policy.spec?.selector?.matchLabels as Labels | undefined;
    const workloads = selector
      ? selectedDeployments(objects, namespaceOf(policy), selector)
      : ofKind<IDeployment>(objects, 'Deployment').filter((d) => namespaceOf(d) === namespaceOf(policy));
    const ports = new Set(workloads.flatMap(containersOf).flatMap((c) => (c.ports ?? []).map((p) => String(p.containerPort))));
    for (const rule of policy.spec?.rules ?? []) {
      for (const { source } of rule.from ?? []) {
        for (const principal of [...(source?.principals ?? []), ...(source?.notPrincipals ?? [])]) {
          if (principal === '*') continue;
          const account = principalAccount(principal);
          if (!account) problems.push(`${where}: principal ${principal} is not cluster.local/ns/<namespace>/sa/<ServiceAccount>`);
          else if (!accounts.has(account)) problems.push(`${where}: principal ${principal} names no ServiceAccount (${account} does not exist)`);
        }
      }
      for (const { operation } of rule.to ?? []) {
        for (const port of [...(operation?.ports ?? []), ...(operation?.notPorts ?? [])]) {
          if (!ports.has(port)) problems.push(`${where}: port ${port} is no container port of the workloads it selects`);
        }
      }
    }
  }
  const workloadNamespaces = new Set(ofKind(objects, 'Deployment').map(namespaceOf));
  const meshNamespaces = ofKind(objects, 'Namespace')
    .filter((ns) => ns.metadata.labels?.['istio-injection'] === 'enabled' && workloadNamespaces.has(ns.metadata.name))
    .map((ns) => ns.metadata.name);
  for (const namespace of meshNamespaces) {
    const denyAll = policies.some((p) => namespaceOf(p) === namespace && Object.keys(p.spec ?? {}).length === 0);
    if (!denyAll) problems.push(`namespace ${namespace}: no default-deny AuthorizationPolicy (empty spec)`);
  }
  return problems;
}

/** A request as an inbound sidecar sees it: the caller's mTLS principal (undefined = plaintext) and the destination. */
export interface InboundRequest {
  principal: string | undefined;
  namespace: string;
  podLabels: Labels;
  port: number;
}

/**
 * Whether Istio's ALLOW semantics admit the request: with any ALLOW policy
 * applying to the workload, a rule must match (no policy at all = allowed).
 * A small model of Istio's evaluation for the fields this project uses
 * (selector, principals, notPrincipals, ports); a policy using anything else
 * throws instead of being misjudged.
 */
export function authorizationAllows(objects: KubeObject[], request: InboundRequest, rootNamespace = 'istio-system'): boolean {
  const applying = ofKind<IAuthorizationPolicy>(objects, 'AuthorizationPolicy').filter((p) => {
    const ns = namespaceOf(p);
    if (ns !== request.namespace && ns !== rootNamespace) return false;
    const selector = p.spec?.selector?.matchLabels as Labels | undefined;
    return !selector || selects(selector, request.podLabels);
  });
  const supported = (value: object | undefined, fields: string[]) => Object.keys(value ?? {}).every((key) => fields.includes(key));
  for (const policy of applying) {
    const spec = policy.spec ?? {};
    const where = `AuthorizationPolicy ${policy.metadata.name}`;
    if ((spec.action ?? 'ALLOW') !== 'ALLOW' || !supported(spec, ['selector', 'action', 'rules'])) throw new Error(`${where}: not modelled (only ALLOW with selector/rules)`);
    for (const rule of spec.rules ?? []) {
      if (!supported(rule, ['from', 'to'])) throw new Error(`${where}: rule fields ${Object.keys(rule)} not modelled`);
      for (const from of rule.from ?? []) if (!supported(from.source, ['principals', 'notPrincipals'])) throw new Error(`${where}: source not modelled`);
      for (const to of rule.to ?? []) if (!supported(to.operation, ['ports'])) throw new Error(`${where}: operation not modelled`);
    }
  }
  const allowPolicies = applying;
  if (allowPolicies.length === 0) return true;
  const principalMatches = (patterns: string[] | undefined, principal: string | undefined) =>
    principal !== undefined && (patterns ?? []).some((p) => p === '*' || p === principal);
  return allowPolicies.some((policy) =>
    (policy.spec?.rules ?? []).some((rule) => {
      const fromOk =
        !rule.from?.length ||
        rule.from.some(({ source }) => {
          if (source?.principals && !principalMatches(source.principals, request.principal)) return false;
          if (source?.notPrincipals && (request.principal === undefined ? false : principalMatches(source.notPrincipals, request.principal))) return false;
          return true;
        });
      const toOk = !rule.to?.length || rule.to.some(({ operation }) => !operation?.ports || operation.ports.includes(String(request.port)));
      return fromOk && toOk;
    }),
  );
}

export interface NetworkPeer {
  namespace: string;
  namespaceLabels: Labels;
  podLabels: Labels;
}

/**
 * Whether the NetworkPolicies in the objects admit a TCP connection from `peer`
 * (undefined = a source outside any pod, e.g. the node) to the pod's port.
 * Standard semantics: pods no Ingress policy selects accept everything; else
 * some rule of some selecting policy must admit both the peer and the port.
 */
export function networkPolicyAllows(objects: KubeObject[], pod: { namespace: string; labels: Labels }, port: number, peer: NetworkPeer | undefined): boolean {
  const selecting = ofKind<INetworkPolicy>(objects, 'NetworkPolicy').filter((np) => {
    const types = np.spec?.policyTypes ?? ['Ingress'];
    const selector = (np.spec?.podSelector.matchLabels ?? {}) as Labels;
    return namespaceOf(np) === pod.namespace && types.includes('Ingress') && Object.entries(selector).every(([k, v]) => pod.labels[k] === v);
  });
  if (selecting.length === 0) return true;
  const labelsMatch = (selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined, labels: Labels) => {
    if (selector?.matchExpressions?.length) throw new Error('matchExpressions are not modelled');
    return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  };
  return selecting.some((np) =>
    (np.spec?.ingress ?? []).some((rule) => {
      const portOk = !rule.ports?.length || rule.ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
      const fromOk =
        !rule.from?.length ||
        rule.from.some((from) => {
          if (from.ipBlock) throw new Error('ipBlock peers are not modelled');
          if (!peer) return false;
          const nsOk = from.namespaceSelector ? labelsMatch(from.namespaceSelector, peer.namespaceLabels) : peer.namespace === namespaceOf(np);
          const podOk = from.podSelector ? labelsMatch(from.podSelector, peer.podLabels) : true;
          return nsOk && podOk;
        });
      return portOk && fromOk;
    }),
  );
}

/** Ports every injected pod must keep open to the kubelet and Prometheus: the agent (probes, Envoy stats) and the sidecar's health port. */
export const sidecarInboundPorts = [15020, 15021];

/**
 * NetworkPolicies in namespaces with workloads: every container port stays
 * reachable (http ports and the sidecar ports from anywhere), and the
 * http-metrics ports only from the Prometheus pod.
 */
export function checkNetworkPolicies(
  objects: KubeObject[],
  prometheus: NetworkPeer,
  others: NetworkPeer[],
  /** Ports open to these peers only (e.g. PostgreSQL's 5432 to business-logic): every other peer must be refused. */
  restricted: Record<number, NetworkPeer[]> = {},
): string[] {
  const problems: string[] = [];
  for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
    const pod = { namespace: namespaceOf(d), labels: podLabels(d) };
    const where = `Deployment ${d.metadata.name}`;
    for (const port of containersOf(d).flatMap((c) => c.ports ?? [])) {
      const only = restricted[port.containerPort];
      if (only) {
        for (const peer of only) {
          if (!networkPolicyAllows(objects, pod, port.containerPort, peer)) problems.push(`${where}: port ${port.containerPort} refuses ${peer.namespace}/${peer.podLabels.app}`);
        }
        for (const peer of [prometheus, ...others].filter((p) => !only.includes(p))) {
          if (networkPolicyAllows(objects, pod, port.containerPort, peer)) problems.push(`${where}: port ${port.containerPort} admits ${peer.namespace}/${peer.podLabels.app}, not only ${only.map((p) => p.podLabels.app).join(', ')}`);
        }
        continue;
      }
      const metrics = port.name === 'http-metrics';
      if (!networkPolicyAllows(objects, pod, port.containerPort, prometheus)) problems.push(`${where}: port ${port.containerPort} refuses Prometheus`);
      for (const peer of others) {
        const allowed = networkPolicyAllows(objects, pod, port.containerPort, peer);
        if (metrics && allowed) problems.push(`${where}: metrics port ${port.containerPort} admits ${peer.namespace}/${JSON.stringify(peer.podLabels)}, not only Prometheus`);
        if (!metrics && !allowed) problems.push(`${where}: port ${port.containerPort} refuses ${peer.namespace}/${JSON.stringify(peer.podLabels)}`);
      }
    }
    for (const port of sidecarInboundPorts) {
      if (!networkPolicyAllows(objects, pod, port, undefined) || !networkPolicyAllows(objects, pod, port, prometheus)) {
        problems.push(`${where}: sidecar port ${port} is not open to the kubelet and Prometheus`);
      }
    }
  }
  return problems;
}

/**
 * Under outboundTrafficPolicy REGISTRY_ONLY a sidecar only reaches hosts in
 * Istio's registry: every URL a mesh workload is configured to call (http(s)
 * env values) and the meshConfig zipkin provider must be a Service port in the
 * manifests. Returns the problems and the endpoints it resolved.
 */
export function checkEgressTargets(objects: KubeObject[], iop: IstioOperatorDoc): { problems: string[]; endpoints: string[] } {
  const problems: string[] = [];
  const endpoints: string[] = [];
  const services = servicesByFqdn(objects);
  const resolve = (who: string, host: string, port: number) => {
    const service = services.get(serviceFqdn(host, 'default'));
    if (!service) problems.push(`${who}: ${host} is no Service in the manifests (REGISTRY_ONLY would block it)`);
    else if (!(service.spec?.ports ?? []).some((p) => p.port === port)) problems.push(`${who}: Service ${host} has no port ${port}`);
    else endpoints.push(`${host}:${port}`);
  };
  // REGISTRY_ONLY is enforced by sidecars: only injected workloads are bound by it.
  const injected = new Set(ofKind(objects, 'Namespace').filter((ns) => ns.metadata.labels?.['istio-injection'] === 'enabled').map((ns) => ns.metadata.name));
  const meshWorkloads = ofKind<IDeployment>(objects, 'Deployment').filter(
    (d) => injected.has(namespaceOf(d)) && d.spec?.template.metadata?.labels?.['sidecar.istio.io/inject'] !== 'false',
  );
  for (const d of meshWorkloads) {
    for (const c of containersOf(d)) {
      for (const variable of c.env ?? []) {
        if (!variable.value || !/^(https?|postgres(ql)?):\/\//.test(variable.value)) continue;
        const url = new URL(variable.value);
        const defaultPort = url.protocol === 'https:' ? 443 : url.protocol.startsWith('postgres') ? 5432 : 80;
        resolve(`Deployment ${d.metadata.name} ${variable.name}`, url.hostname, Number(url.port || defaultPort));
      }
    }
  }
  for (const provider of iop.spec?.meshConfig?.extensionProviders ?? []) {
    if (provider.zipkin?.service) resolve(`extensionProvider ${provider.name}`, provider.zipkin.service, provider.zipkin.port ?? 9411);
  }
  if (iop.spec?.meshConfig?.outboundTrafficPolicy?.mode !== 'REGISTRY_ONLY') problems.push('meshConfig.outboundTrafficPolicy.mode is not REGISTRY_ONLY');
  return { problems, endpoints };
}

/** Routes bound to a Gateway lead only into the given app namespaces (never to the observability UIs). */
export function checkGatewayExposure(objects: KubeObject[], appNamespaces: string[]): string[] {
  const problems: string[] = [];
  for (const vs of ofKind<IVirtualService>(objects, 'VirtualService')) {
    if (!(vs.spec?.gateways ?? []).some((g) => g !== 'mesh')) continue;
    for (const route of [...(vs.spec?.http ?? []), ...(vs.spec?.tcp ?? []), ...(vs.spec?.tls ?? [])]) {
      for (const { destination } of route.route ?? []) {
        const fqdn = serviceFqdn(destination?.host ?? '', namespaceOf(vs));
        const namespace = fqdn.split('.')[1] ?? '';
        if (!appNamespaces.includes(namespace)) problems.push(`VirtualService ${vs.metadata.name}: the gateway exposes ${destination?.host} (namespace ${namespace})`);
      }
    }
  }
  for (const service of ofKind<IService>(objects, 'Service')) {
    if (!appNamespaces.includes(namespaceOf(service)) && service.spec?.type && service.spec.type !== 'ClusterIP') {
      problems.push(`Service ${namespaceOf(service)}/${service.metadata.name} is ${service.spec.type}: reachable without a port-forward`);
    }
  }
  return problems;
}

export interface TimeoutLayers {
  perTryTimeoutMs: number;
  attempts: number;
  routeTimeoutMs: number;
  frontendTimeoutMs: number;
  gatewayTimeoutMs: number;
}

/**
 * The timeouts of gateway -> frontend -> business-logic nest: every try has
 * room for the slowest default /slow of any business-logic version; the route
 * timeout leaves room for every retry (attempts x perTryTimeout); the
 * frontend's own DOWNSTREAM_TIMEOUT_MS is slightly above it (within 2 s), so
 * the sidecar answers first; the gateway route waits longer than the frontend.
 * Retries cover 5xx, resets and connect failures.
 */
export function checkTimeoutLayering(objects: KubeObject[], slowDefaultMs: number): { problems: string[]; layers: TimeoutLayers | undefined } {
  const problems: string[] = [];
  const vs = (name: string) => ofKind<IVirtualService>(objects, 'VirtualService').find((v) => v.metadata.name === name);
  const routes = vs('business-logic')?.spec?.http ?? [];
  if (routes.length === 0) return { problems: ['no business-logic VirtualService routes'], layers: undefined };
  const layerList = routes.map((route) => {
    const where = `business-logic route ${route.name}`;
    const perTry = durationMs(route.retries?.perTryTimeout);
    const timeout = durationMs(route.timeout);
    const attempts = route.retries?.attempts ?? 0;
    if (perTry === undefined || timeout === undefined || attempts < 1) {
      problems.push(`${where}: needs timeout, retries.attempts and retries.perTryTimeout`);
      return undefined;
    }
    const retryOn = (route.retries?.retryOn ?? '').split(',');
    for (const condition of ['5xx', 'reset', 'connect-failure']) if (!retryOn.includes(condition)) problems.push(`${where}: retryOn lacks ${condition}`);
    if (attempts * perTry > timeout) problems.push(`${where}: ${attempts} retries x ${perTry} ms exceed the route timeout ${timeout} ms`);
    return { perTry, timeout, attempts };
  });
  const defined = layerList.filter((l) => l !== undefined);
  if (defined.length !== layerList.length) return { problems, layers: undefined };
  const distinct = new Set(defined.map((l) => JSON.stringify(l)));
  if (distinct.size !== 1) problems.push('business-logic routes differ in timeout or retries');
  const { perTry, timeout, attempts } = defined[0]!;

  let slowest = 0;
  for (const d of ofKind<IDeployment>(objects, 'Deployment').filter((d) => podLabels(d).app === 'business-logic')) {
    const scale = Number(containersOf(d)[0]?.env?.find((v) => v.name === 'SLOW_DELAY_SCALE')?.value ?? '1');
    slowest = Math.max(slowest, slowDefaultMs * scale);
  }
  if (perTry < slowest + 250) problems.push(`perTryTimeout ${perTry} ms leaves less than 250 ms above the slowest default /slow (${slowest} ms)`);

  const frontend = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === 'frontend');
  const frontendValue = (frontend ? containersOf(frontend) : []).flatMap((c) => c.env ?? []).find((v) => v.name === 'DOWNSTREAM_TIMEOUT_MS')?.value;
  const frontendTimeout = Number(frontendValue ?? 5000);
  if (!(frontendTimeout > timeout && frontendTimeout - timeout <= 2000)) {
    problems.push(`frontend DOWNSTREAM_TIMEOUT_MS ${frontendTimeout} is not slightly (0-2 s) above the mesh route timeout ${timeout} ms`);
  }
  const gateway = durationMs(vs('frontend')?.spec?.http?.[0]?.timeout);
  if (gateway === undefined || gateway <= frontendTimeout) problems.push(`gateway -> frontend timeout ${gateway} ms does not exceed the frontend's ${frontendTimeout} ms`);
  return {
    problems,
    layers: { perTryTimeoutMs: perTry, attempts, routeTimeoutMs: timeout, frontendTimeoutMs: frontendTimeout, gatewayTimeoutMs: gateway ?? 0 },
  };
}
