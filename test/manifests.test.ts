// Static verification of the cluster configuration: the project's conventions
// and the cross-checks that keep names, labels and ports consistent across files.
// Schemas, types and field names are checked by the real tools instead: the API
// server and istiod's webhook (test/cluster/manifests-api.test.ts), `istioctl
// validate` / `manifest generate` (test/istioctl.test.ts and the install config below).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IGateway, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { contractEnvNames } from './support/contract';
import { effectiveUser, findStage, readStages } from './support/dockerfile';
import {
  checkContainers,
  checkCtlptl,
  checkEnv,
  checkGateways,
  checkGracePeriod,
  checkIstioOperator,
  checkLabels,
  checkMetricsScraping,
  checkNamespaces,
  checkPeerAuthentication,
  checkRoutes,
  checkServiceAccounts,
  checkServicePortNames,
  checkServiceSelectors,
  checkTelemetry,
  type IstioOperatorDoc,
} from './support/manifest-checks';
import { istioctl, scratchFile } from './support/istioctl';
import { type KubeObject, loadManifests, loadYamlDocuments, ofKind } from './support/manifests';
import { repoRoot, toolPath } from './support/tools';
import { calleeUrlVariables, meshService, meshServices, serviceNames } from './support/workspaces';

const manifests = loadManifests(['k8s', 'istio'], ['istio/install']);
const objects = manifests.map((m) => m.object);
/** The data add-on (k8s/postgres.yaml) is no service: it has its own checks below, not the service contract's. */
const POSTGRES_FILE = 'k8s/postgres.yaml';
const serviceObjects = manifests.filter((m) => m.file !== POSTGRES_FILE).map((m) => m.object);
const iopDocs = loadYamlDocuments('istio/install/istio-config.yaml');
const iop = iopDocs[0] as IstioOperatorDoc;
const ctlptl = loadYamlDocuments('ctlptl.yaml') as Parameters<typeof checkCtlptl>[0];
/** Images Tilt builds from services/Dockerfile and live-updates: one per mesh service of the workspaces. */
const serviceImages = serviceNames();
/** The services drain and exit within 4 s of SIGTERM (ARCHITECTURE.md, decision 6). */
const shutdownSeconds = 4;

/** A deep copy of the objects with one changed by `mutate` (for the checks' negative cases). */
function mutated(kind: string, name: string, mutate: (object: KubeObject) => void): KubeObject[] {
  const copy = structuredClone(serviceObjects);
  const target = copy.find((o) => o.kind === kind && o.metadata.name === name);
  if (!target) throw new Error(`no ${kind} ${name} to mutate`);
  mutate(target);
  return copy;
}

function deploymentOf(copy: KubeObject, name = copy.metadata.name) {
  const container = (copy as KubeObject & IDeployment).spec?.template.spec?.containers.find((c) => c.name === name);
  if (!container) throw new Error(`no container ${name}`);
  return container;
}

describe('files and namespaces', () => {
  test('k8s/ and istio/mesh/ hold the files docs/cluster-layout.md names', () => {
    const files = new Set(manifests.map((m) => m.file));
    const expected = [
      'k8s/namespace.yaml',
      'k8s/frontend.yaml',
      'k8s/business-logic.yaml',
      'k8s/business-logic-v2.yaml',
      'k8s/postgres.yaml',
      'istio/mesh/gateway.yaml',
      'istio/mesh/frontend-routes.yaml',
      'istio/mesh/business-logic-routes.yaml',
      'istio/mesh/peer-authentication.yaml',
      'istio/mesh/telemetry.yaml',
      'istio/mesh/authorization.yaml',
      'istio/mesh/network-policy.yaml',
    ];
    expect(expected.filter((file) => !files.has(file))).toEqual([]);
  });

  test('Istio resources use the v1 API versions', () => {
    const istio = objects.filter((o) => o.apiVersion.includes('istio.io'));
    expect(istio.length).toBeGreaterThan(0);
    expect(istio.filter((o) => !o.apiVersion.endsWith('/v1')).map((o) => `${o.kind} ${o.apiVersion}`)).toEqual([]);
  });

  test('every namespaced object names its namespace; the app namespace has istio-injection=enabled', () => {
    expect(checkNamespaces(objects)).toEqual([]);
    expect(ofKind(objects, 'Namespace').map((ns) => ns.metadata.name)).toEqual(['meshloop']);
    expect(checkNamespaces(mutated('Namespace', 'meshloop', (ns) => delete ns.metadata.labels?.['istio-injection']))).toHaveLength(1);
    expect(checkNamespaces(mutated('Service', 'frontend', (s) => delete s.metadata.namespace))).toEqual(['Service frontend names no namespace']);
  });
});

describe('workloads (k8s/)', () => {
  test.each(serviceImages)('k8s/%s.yaml is a ServiceAccount, Service and Deployment sharing one name and image', (service) => {
    const inFile = manifests.filter((m) => m.file === `k8s/${service}.yaml`).map((m) => `${m.object.kind}/${m.object.metadata.name}`);
    expect(inFile.sort()).toEqual([`Deployment/${service}`, `Service/${service}`, `ServiceAccount/${service}`]);
    const deployment = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === service);
    expect(deployment?.spec?.template.spec?.containers.map((c) => c.image)).toEqual([service]);
  });

  test('every Service selects the pods of a Deployment and targets their ports', () => {
    expect(checkServiceSelectors(objects)).toEqual([]);
    const typo = mutated('Service', 'frontend', (s) => {
      (s as KubeObject & { spec: { selector: Record<string, string> } }).spec.selector = { app: 'frontent' };
    });
    expect(checkServiceSelectors(typo)).toEqual([expect.stringContaining('selects no Deployment')]);
    const wrongPort = mutated('Service', 'business-logic', (s) => {
      (s as KubeObject & { spec: { ports: { targetPort: unknown }[] } }).spec.ports[0]!.targetPort = 'web';
    });
    // v1 and the v2 canary are both behind the business-logic Service.
    expect(checkServiceSelectors(wrongPort).sort()).toEqual([
      expect.stringMatching(/targetPort web is no port of Deployment business-logic$/),
      expect.stringMatching(/targetPort web is no port of Deployment business-logic-v2$/),
    ]);
  });

  test('every Service port is named for Istio or declares its appProtocol', () => {
    expect(checkServicePortNames(objects)).toEqual([]);
    const unnamed = mutated('Service', 'frontend', (s) => {
      const port = (s as KubeObject & { spec: { ports: { name?: string; appProtocol?: string }[] } }).spec.ports[1]!;
      port.name = 'metrics';
      delete port.appProtocol;
    });
    expect(checkServicePortNames(unnamed)).toEqual([expect.stringContaining('port metrics')]);
  });

  test('every Deployment runs as its own ServiceAccount, which exists', () => {
    expect(checkServiceAccounts(objects)).toEqual([]);
    const missing = mutated('Deployment', 'frontend', (d) => {
      (d as KubeObject & IDeployment).spec!.template.spec!.serviceAccountName = 'frontend-sa';
    });
    expect(checkServiceAccounts(missing)).toEqual([expect.stringContaining('frontend-sa')]);
  });

  test('Deployments and pods carry app, version and app.kubernetes.io/* labels that agree', () => {
    expect(checkLabels(objects)).toEqual([]);
    const stale = mutated('Deployment', 'business-logic', (d) => {
      (d as KubeObject & IDeployment).spec!.template.metadata!.labels!['app.kubernetes.io/version'] = 'v2';
    });
    expect(checkLabels(stale)).toEqual([expect.stringContaining('app.kubernetes.io/version differs')]);
  });

  test('every container has /livez and /readyz probes, cpu+memory requests and limits, and a hardened securityContext', () => {
    expect(checkContainers(serviceObjects, { writableRootImages: serviceImages })).toEqual([]);
    const loose = mutated('Deployment', 'frontend', (d) => {
      const c = deploymentOf(d);
      delete c.readinessProbe;
      c.securityContext!.allowPrivilegeEscalation = true;
      delete c.resources!.limits!.memory;
    });
    expect(checkContainers(loose, { writableRootImages: serviceImages })).toEqual([
      expect.stringContaining('readinessProbe'),
      expect.stringContaining('needs a memory request and limit'),
      expect.stringContaining('allowPrivilegeEscalation'),
    ]);
    // Only the live-updated service images may keep a writable root filesystem.
    expect(checkContainers(serviceObjects, { writableRootImages: [] })).toHaveLength(ofKind(serviceObjects, 'Deployment').length);
  });

  test('service containers run as uid 1000, the node user of services/Dockerfile', () => {
    const dev = findStage(readStages(), 'dev');
    expect(dev && effectiveUser(dev)).toBe('node'); // uid 1000 in the node image
    for (const d of ofKind<IDeployment>(serviceObjects, 'Deployment')) {
      expect(d.spec?.template.spec?.containers.map((c) => c.securityContext?.runAsUser)).toEqual([1000]);
    }
  });

  test('pods keep exemplars: no Istio metrics merging, the metrics port is annotated and exposed as http-metrics', () => {
    expect(checkMetricsScraping(serviceObjects)).toEqual([]);
    const merged = mutated('Deployment', 'frontend', (d) => {
      delete (d as KubeObject & IDeployment).spec!.template.metadata!.annotations!['prometheus.istio.io/merge-metrics'];
    });
    expect(checkMetricsScraping(merged)).toEqual([expect.stringContaining('merging')]);
  });

  test('container env uses only variables of docs/service-contract.md, consistent with ports, labels and the Downward API', () => {
    // <CALLEE>_URL of each service (docs/service-contract.md): a generated service's callers get one.
    const contract = new Set([...contractEnvNames(), ...calleeUrlVariables()]);
    expect(contract).toContain('OTEL_RESOURCE_ATTRIBUTES');
    expect(checkEnv(serviceObjects, contract)).toEqual([]);
    const unknown = mutated('Deployment', 'frontend', (d) => {
      deploymentOf(d).env!.push({ name: 'FRONTEND_COLOR', value: 'blue' });
    });
    expect(checkEnv(unknown, contract)).toEqual([expect.stringContaining('FRONTEND_COLOR is not in docs/service-contract.md')]);
    const reordered = mutated('Deployment', 'business-logic', (d) => {
      const env = deploymentOf(d).env!;
      const attributes = env.findIndex((v) => v.name === 'OTEL_RESOURCE_ATTRIBUTES');
      env.unshift(...env.splice(attributes, 1));
    });
    expect(checkEnv(reordered, contract)).toEqual([
      expect.stringContaining('references $(K8S_POD_NAME), not defined before it'),
      expect.stringContaining('references $(K8S_NAMESPACE_NAME), not defined before it'),
      // ... and then they no longer feed a reference, so they count as unknown variables.
      expect.stringContaining('K8S_POD_NAME is not in docs/service-contract.md'),
      expect.stringContaining('K8S_NAMESPACE_NAME is not in docs/service-contract.md'),
    ]);
  });

  test('frontend reaches business-logic through its Service', () => {
    const frontend = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === 'frontend');
    const url = frontend?.spec?.template.spec?.containers[0]?.env?.find((v) => v.name === 'BUSINESS_LOGIC_URL')?.value;
    expect(url).toBe('http://business-logic.meshloop.svc.cluster.local:8081');
  });

  test.each(serviceNames())('%s reaches every service its package.json "meshloop" calls names through that Service', (name) => {
    const { calls } = meshService(name);
    const deployment = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === name);
    const env = deployment?.spec?.template.spec?.containers[0]?.env ?? [];
    for (const callee of calls) {
      const variable = `${callee.toUpperCase().replace(/-/g, '_')}_URL`;
      expect(env.find((v) => v.name === variable)?.value, `${name}: ${variable}`).toBe(`http://${callee}.meshloop.svc.cluster.local:${meshService(callee).port}`);
    }
  });

  test('the kubelet waits longer than the services\' 4 s graceful shutdown', () => {
    expect(checkGracePeriod(objects, shutdownSeconds)).toEqual([]);
    const short = mutated('Deployment', 'frontend', (d) => {
      (d as KubeObject & IDeployment).spec!.template.spec!.terminationGracePeriodSeconds = 3;
    });
    expect(checkGracePeriod(short, shutdownSeconds)).toHaveLength(1);
  });
});

describe('PostgreSQL (k8s/postgres.yaml)', () => {
  const inFile = manifests.filter((m) => m.file === POSTGRES_FILE).map((m) => m.object);
  const deployment = ofKind<IDeployment>(inFile, 'Deployment').find((d) => d.metadata.name === 'postgres');
  const pod = deployment?.spec?.template.spec;
  const container = pod?.containers.find((c) => c.name === 'postgres');

  test('holds a ServiceAccount, a Service, a PersistentVolumeClaim and a one-replica Deployment, all named postgres(-data) in meshloop', () => {
    expect(inFile.map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.namespace}`).sort()).toEqual([
      'Deployment/postgres/meshloop',
      'PersistentVolumeClaim/postgres-data/meshloop',
      'Service/postgres/meshloop',
      'ServiceAccount/postgres/meshloop',
    ]);
    expect(deployment?.spec?.replicas).toBe(1);
    // The old pod must let go of the ReadWriteOnce volume before the new one mounts it.
    expect(deployment?.spec?.strategy?.type).toBe('Recreate');
    expect(pod?.serviceAccountName).toBe('postgres');
    expect(pod?.automountServiceAccountToken).toBe(false);
  });

  test('the Service port is named tcp-postgres (Istio: opaque TCP, istio_tcp_* metrics) and targets the container port 5432', () => {
    const service = ofKind<KubeObject & { spec: { ports: Array<{ name: string; port: number; targetPort: string; appProtocol?: string }> } }>(inFile, 'Service')[0];
    expect(service?.spec.ports).toEqual([{ name: 'tcp-postgres', port: 5432, targetPort: 'tcp-postgres', appProtocol: 'tcp' }]);
    expect(container?.ports).toEqual([{ name: 'tcp-postgres', containerPort: 5432 }]);
  });

  test('the image is the official one at a pinned version, matching the version labels', () => {
    expect(container?.image).toMatch(/^docker\.io\/library\/postgres:(\d+\.\d+)-bookworm$/);
    const version = /postgres:(\d+\.\d+)-/.exec(container?.image ?? '')?.[1];
    expect(deployment?.spec?.template.metadata?.labels?.['app.kubernetes.io/version']).toBe(version);
  });

  test('data on a PersistentVolumeClaim of the default StorageClass, mounted at PGDATA\'s parent (PGDATA a subfolder: initdb refuses lost+found)', () => {
    const claim = ofKind<KubeObject & { spec: { storageClassName?: string; accessModes: string[] } }>(inFile, 'PersistentVolumeClaim')[0];
    expect(claim?.spec.storageClassName).toBeUndefined();
    expect(claim?.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(pod?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe('postgres-data');
    expect(container?.volumeMounts?.find((m) => m.name === 'data')?.mountPath).toBe('/var/lib/postgresql/data');
    expect(container?.env?.find((e) => e.name === 'PGDATA')?.value).toBe('/var/lib/postgresql/data/pgdata');
  });

  test('hardened as far as the image allows: non-root uid 999, read-only root, no privilege escalation, no capabilities, seccomp', () => {
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container?.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // The writable places a read-only root needs: socket dir and /tmp.
    expect(container?.volumeMounts?.map((m) => m.mountPath).sort()).toEqual(['/tmp', '/var/lib/postgresql/data', '/var/run/postgresql']);
  });

  test('probes (pg_isready over the Unix socket) and cpu+memory requests and limits', () => {
    for (const probe of [container?.startupProbe, container?.readinessProbe, container?.livenessProbe]) {
      expect(probe?.exec?.command?.slice(0, 3)).toEqual(['pg_isready', '-h', '/var/run/postgresql']);
    }
    expect(container?.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container?.resources?.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  });

  test('the password comes from the generated Secret postgres-credentials, never from the manifest', () => {
    expect(container?.env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'postgres-credentials', key: 'password' });
    expect(JSON.stringify(inFile)).not.toMatch(/kind":"Secret/);
  });

  test('business-logic (v1 and v2) gets DATABASE_URL to the Service and PGPASSWORD from the same Secret', () => {
    for (const name of ['business-logic', 'business-logic-v2']) {
      const env = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === name)?.spec?.template.spec?.containers[0]?.env ?? [];
      expect(env.find((e) => e.name === 'DATABASE_URL')?.value, name).toBe('postgres://meshloop@postgres.meshloop.svc.cluster.local:5432/meshloop');
      expect(env.find((e) => e.name === 'PGPASSWORD')?.valueFrom?.secretKeyRef, name).toMatchObject({ name: 'postgres-credentials', key: 'password' });
    }
  });
});

describe('mesh (istio/)', () => {
  // Destinations, their ports and subsets, DestinationRule hosts, bound gateways, the
  // Gateway's selector, ports and Secret: istioctl analyze against the live API server
  // (test/cluster/manifests-api.test.ts), which reports each of them.
  test('every host a mesh VirtualService claims is a Service (istioctl analyze does not look at VirtualService hosts)', () => {
    expect(checkRoutes(objects)).toEqual([]);
    const wrongHost = mutated('VirtualService', 'business-logic', (vs) => {
      (vs as KubeObject & IVirtualService).spec!.hosts = ['business-logik.meshloop.svc.cluster.local'];
    });
    expect(checkRoutes(wrongHost)).toEqual(['VirtualService business-logic: host business-logik.meshloop.svc.cluster.local is no Service']);
    const meshWildcard = mutated('VirtualService', 'frontend', (vs) => {
      (vs as KubeObject & IVirtualService).spec!.gateways!.push('mesh');
    });
    expect(checkRoutes(meshWildcard)).toEqual(['VirtualService frontend: host * is no Service']);
  });

  test('the Gateway serves HTTP, and HTTPS only with TLS mode SIMPLE and a credentialName Secret', () => {
    expect(checkGateways(objects)).toEqual([]);
    const passthrough = mutated('Gateway', 'meshloop-gateway', (g) => {
      const servers = (g as KubeObject & IGateway).spec!.servers!;
      servers.find((server) => server.port?.protocol === 'HTTPS')!.tls!.mode = 'PASSTHROUGH';
    });
    expect(checkGateways(passthrough)).toEqual([expect.stringContaining('HTTPS port 8443 does not terminate TLS')]);
    const tcp = mutated('Gateway', 'meshloop-gateway', (g) => {
      (g as KubeObject & IGateway).spec!.servers![0]!.port!.protocol = 'TCP';
    });
    expect(checkGateways(tcp)).toEqual(['Gateway meshloop-gateway: port 8080 has protocol TCP, not HTTP or HTTPS']);
  });

  test('mTLS is STRICT mesh-wide, PERMISSIVE only on exactly the services\' http-metrics ports', () => {
    expect(checkPeerAuthentication(objects)).toEqual([]);
    const permissive = ofKind<IPeerAuthentication>(objects, 'PeerAuthentication').flatMap((p) => Object.keys(p.spec?.portLevelMtls ?? {}));
    expect(permissive.sort()).toEqual(meshServices().map((s) => String(s.metricsPort)).sort());
    const wrongPort = mutated('PeerAuthentication', 'frontend-metrics', (p) => {
      (p as KubeObject & IPeerAuthentication).spec!.portLevelMtls = { 8080: { mode: 'PERMISSIVE' } };
    });
    expect(checkPeerAuthentication(wrongPort)).toEqual([
      expect.stringContaining('port 8080 is PERMISSIVE but is no http-metrics port'),
      expect.stringContaining('Deployment frontend: metrics port 9464 is not PERMISSIVE'),
    ]);
    const namespaceWide = mutated('PeerAuthentication', 'business-logic-metrics', (p) => {
      delete (p as KubeObject & IPeerAuthentication).spec!.selector;
    });
    expect(checkPeerAuthentication(namespaceWide)).toContainEqual(expect.stringContaining('needs a workload selector'));
  });

  test('mesh-wide Telemetry samples 100% to a provider defined in meshConfig', () => {
    expect(checkTelemetry(objects, iop)).toEqual([]);
    const otel = mutated('Telemetry', 'mesh-default', (t) => {
      (t as KubeObject & { spec: { tracing: { providers: { name: string }[] }[] } }).spec.tracing[0]!.providers[0]!.name = 'otel';
    });
    expect(checkTelemetry(otel, iop)).toEqual([expect.stringContaining('provider otel')]);
  });
});

describe('install and cluster config', () => {
  test('istio/install/istio-config.yaml is one IstioOperator with Istio 1.30 top-level fields, tracing, NodePort gateway and memory bounds', () => {
    expect(iopDocs).toHaveLength(1);
    expect(checkIstioOperator(iop)).toEqual([]);
    const typo = structuredClone(iop) as IstioOperatorDoc & { spec: { meshconfig?: unknown } };
    typo.spec.meshconfig = typo.spec.meshConfig;
    delete typo.spec.meshConfig;
    expect(checkIstioOperator(typo)).toContainEqual('spec: unknown field meshconfig');
    const unbounded = structuredClone(iop);
    delete (unbounded.spec!.values!.global!.proxy!.resources as { limits?: unknown }).limits;
    expect(checkIstioOperator(unbounded)).toEqual(['sidecar resources (values.global.proxy.resources): needs a memory request and limit']);
  });

  // What the hand-written IstioOperator checks no longer look at, because real
  // istioctl refuses it: `install` renders exactly what `manifest generate` renders.
  beforeAll(() => {
    toolPath('istioctl'); // cold, this builds it (10-20 min); `.ci/run` builds it up front
  }, 40 * 60_000);
  const installConfig = readFileSync(path.join(repoRoot, 'istio/install/istio-config.yaml'), 'utf8');
  test.each([
    ['a misspelled component field', /^ {8}enabled: true$/m, '        enabeld: true', /unknown field "enabeld"/],
    ['a misspelled k8s field', /^ {10}resources:$/m, '          resourcess:', /unknown field "resourcess"/],
    ['an unknown profile', 'profile: default', 'profile: defualt', /profile "defualt" not found/],
    ['a malformed quantity', 'memory: 256Mi', 'memory: 256Mx', /quantities must match/],
    ['a privileged gateway target port', 'targetPort: 8080', 'targetPort: 80', /targetPort is set to 80, which requires root/],
  ] as const)('istioctl manifest generate refuses %s in the install config', (_, from, to, message) => {
    const changed = installConfig.replace(from, to);
    expect(changed).not.toBe(installConfig);
    const run = istioctl(['manifest', 'generate', '-f', scratchFile('manifests-test-iop.yaml', changed)]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(message);
  });

  test('but istioctl accepts a misspelled top-level field silently, dropping the section (so checkIstioOperator keeps that check)', () => {
    const run = istioctl(['manifest', 'generate', '-f', scratchFile('manifests-test-iop.yaml', installConfig.replace(/^ {2}meshConfig:$/m, '  meshconfig:'))]);
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain('jaeger.observability.svc.cluster.local');
  });

  test('ctlptl.yaml maps host 8080/8443 to exactly the gateway NodePorts of istio-config.yaml', () => {
    expect(checkCtlptl(ctlptl, iop)).toEqual([]);
    const swapped = structuredClone(ctlptl);
    const mappings = swapped.find((d) => d.kind === 'Cluster')!.kindV1Alpha4Cluster!.nodes![0]!.extraPortMappings!;
    [mappings[0]!.containerPort, mappings[1]!.containerPort] = [mappings[1]!.containerPort, mappings[0]!.containerPort];
    expect(checkCtlptl(swapped, iop)).toEqual([
      expect.stringContaining('host port 8080 does not map'),
      expect.stringContaining('host port 8443 does not map'),
    ]);
    const otherNodePort = structuredClone(iop);
    otherNodePort.spec!.components!.ingressGateways![0]!.k8s!.service!.ports![1]!.nodePort = 31080;
    expect(checkCtlptl(ctlptl, otherNodePort)).toContainEqual(expect.stringContaining('are not the gateway NodePorts'));
  });
});
