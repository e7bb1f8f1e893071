// Static verification of the cluster configuration (no cluster runs here):
// every manifest in k8s/ and istio/ against its Kubernetes / Istio schema,
// plus the cross-checks that keep names, labels and ports consistent.
import { describe, expect, test } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IGateway, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { contractEnvNames } from './support/contract';
import { effectiveUser, findStage, readStages } from './support/dockerfile';
import {
  checkContainers,
  checkCtlptl,
  checkDeploymentSelectors,
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
  checkSubsets,
  checkTelemetry,
  type IstioOperatorDoc,
} from './support/manifest-checks';
import { type KubeObject, loadManifests, loadYamlDocuments, ofKind, validateManifest } from './support/manifests';

const manifests = loadManifests(['k8s', 'istio'], ['istio/install']);
const objects = manifests.map((m) => m.object);
const iopDocs = loadYamlDocuments('istio/install/istio-config.yaml');
const iop = iopDocs[0] as IstioOperatorDoc;
const ctlptl = loadYamlDocuments('ctlptl.yaml') as Parameters<typeof checkCtlptl>[0];
/** Images Tilt builds from services/Dockerfile and live-updates (docs/cluster-layout.md). */
const serviceImages = ['frontend', 'business-logic'];
/** The services drain and exit within 4 s of SIGTERM (ARCHITECTURE.md, decision 6). */
const shutdownSeconds = 4;

/** A deep copy of the objects with one changed by `mutate` (for the checks' negative cases). */
function mutated(kind: string, name: string, mutate: (object: KubeObject) => void): KubeObject[] {
  const copy = structuredClone(objects);
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

describe('schemas', () => {
  test('k8s/ and istio/mesh/ hold the files docs/cluster-layout.md names', () => {
    const files = new Set(manifests.map((m) => m.file));
    const expected = [
      'k8s/namespace.yaml',
      'k8s/frontend.yaml',
      'k8s/business-logic.yaml',
      'k8s/business-logic-v2.yaml',
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

  test('every document in k8s/ and istio/mesh/ validates against the schema of its kind', () => {
    const errors = objects.flatMap((object) => {
      try {
        validateManifest(object);
        return [];
      } catch (error) {
        return [String(error)];
      }
    });
    expect(errors).toEqual([]);
  });

  test('an unknown kind and a wrongly typed field are rejected', () => {
    expect(() => validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(/no schema/);
    const broken = mutated('Deployment', 'frontend', (d) => {
      (d as KubeObject & { spec: { replicas: unknown } }).spec.replicas = 'one';
    });
    const deployment = broken.find((o) => o.kind === 'Deployment' && o.metadata.name === 'frontend');
    expect(() => validateManifest(deployment as KubeObject)).toThrow(/replicas/);
    const vs = mutated('VirtualService', 'frontend', (v) => {
      (v as KubeObject & { spec: { hosts: unknown } }).spec.hosts = 'frontend';
    }).find((o) => o.kind === 'VirtualService' && o.metadata.name === 'frontend');
    expect(() => validateManifest(vs as KubeObject)).toThrow(/hosts/);
  });

  test('Istio resources use the v1 API versions', () => {
    const istio = objects.filter((o) => o.apiVersion.includes('istio.io'));
    expect(istio.length).toBeGreaterThan(0);
    expect(istio.filter((o) => !o.apiVersion.endsWith('/v1')).map((o) => `${o.kind} ${o.apiVersion}`)).toEqual([]);
  });

  test('every namespaced object names its namespace; the app namespace has istio-injection=enabled', () => {
    expect(checkNamespaces(objects, ['istio-system'])).toEqual([]);
    expect(ofKind(objects, 'Namespace').map((ns) => ns.metadata.name)).toEqual(['meshloop']);
    expect(checkNamespaces(mutated('Namespace', 'meshloop', (ns) => delete ns.metadata.labels?.['istio-injection']), ['istio-system'])).toHaveLength(1);
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
    expect(checkDeploymentSelectors(objects)).toEqual([]);
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
    expect(checkContainers(objects, { writableRootImages: serviceImages })).toEqual([]);
    const loose = mutated('Deployment', 'frontend', (d) => {
      const c = deploymentOf(d);
      delete c.readinessProbe;
      c.securityContext!.allowPrivilegeEscalation = true;
      c.resources!.requests!.memory = '1Gi';
    });
    expect(checkContainers(loose, { writableRootImages: serviceImages })).toEqual([
      expect.stringContaining('readinessProbe'),
      expect.stringContaining('memory request exceeds'),
      expect.stringContaining('allowPrivilegeEscalation'),
    ]);
    // Only the live-updated service images may keep a writable root filesystem.
    expect(checkContainers(objects, { writableRootImages: [] })).toHaveLength(ofKind(objects, 'Deployment').length);
  });

  test('service containers run as uid 1000, the node user of services/Dockerfile', () => {
    const dev = findStage(readStages(), 'dev');
    expect(dev && effectiveUser(dev)).toBe('node'); // uid 1000 in the node image
    for (const d of ofKind<IDeployment>(objects, 'Deployment')) {
      expect(d.spec?.template.spec?.containers.map((c) => c.securityContext?.runAsUser)).toEqual([1000]);
    }
  });

  test('pods keep exemplars: no Istio metrics merging, the metrics port is annotated and exposed as http-metrics', () => {
    expect(checkMetricsScraping(objects)).toEqual([]);
    const merged = mutated('Deployment', 'frontend', (d) => {
      delete (d as KubeObject & IDeployment).spec!.template.metadata!.annotations!['prometheus.istio.io/merge-metrics'];
    });
    expect(checkMetricsScraping(merged)).toEqual([expect.stringContaining('merging')]);
  });

  test('container env uses only variables of docs/service-contract.md, consistent with ports, labels and the Downward API', () => {
    const contract = contractEnvNames();
    expect(contract).toContain('OTEL_RESOURCE_ATTRIBUTES');
    expect(checkEnv(objects, contract)).toEqual([]);
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

  test('the kubelet waits longer than the services\' 4 s graceful shutdown', () => {
    expect(checkGracePeriod(objects, shutdownSeconds)).toEqual([]);
    const short = mutated('Deployment', 'frontend', (d) => {
      (d as KubeObject & IDeployment).spec!.template.spec!.terminationGracePeriodSeconds = 3;
    });
    expect(checkGracePeriod(short, shutdownSeconds)).toHaveLength(1);
  });
});

describe('mesh (istio/)', () => {
  test('every VirtualService and DestinationRule host, destination and gateway exists', () => {
    expect(checkRoutes(objects)).toEqual([]);
    const wrongHost = mutated('VirtualService', 'business-logic', (vs) => {
      (vs as KubeObject & IVirtualService).spec!.http![0]!.route![0]!.destination!.host = 'business-logik';
    });
    expect(checkRoutes(wrongHost)).toEqual([expect.stringContaining('business-logik is no Service')]);
    const wrongPort = mutated('VirtualService', 'frontend', (vs) => {
      (vs as KubeObject & IVirtualService).spec!.http![0]!.route![0]!.destination!.port = { number: 80 };
    });
    expect(checkRoutes(wrongPort)).toEqual([expect.stringContaining('port 80 is no port')]);
  });

  test('routed subsets exist in the DestinationRule and select pods behind the Service', () => {
    expect(checkSubsets(objects)).toEqual([]);
    const v3 = mutated('VirtualService', 'business-logic', (vs) => {
      (vs as KubeObject & IVirtualService).spec!.http![0]!.route![0]!.destination!.subset = 'v3';
    });
    expect(checkSubsets(v3)).toEqual([expect.stringContaining('subset v3')]);
    const noPods = mutated('DestinationRule', 'business-logic', (dr) => {
      (dr as KubeObject & { spec: { subsets: { labels: Record<string, string> }[] } }).spec.subsets[0]!.labels = { version: 'v9' };
    });
    expect(checkSubsets(noPods)).toEqual([expect.stringContaining('selects no pods')]);
  });

  test('the Gateway selects the ingress gateway pods, serves HTTP on its http2 port and HTTPS (TLS from a Secret) on its https port', () => {
    expect(checkGateways(objects, iop)).toEqual([]);
    const ingress = mutated('Gateway', 'meshloop-gateway', (g) => {
      (g as KubeObject & { spec: { selector: Record<string, string> } }).spec.selector = { istio: 'ingress' };
    });
    expect(checkGateways(ingress, iop)).toEqual([expect.stringContaining('does not select')]);
    const plainHttps = mutated('Gateway', 'meshloop-gateway', (g) => {
      const servers = (g as KubeObject & IGateway).spec!.servers!;
      delete servers.find((server) => server.port?.protocol === 'HTTPS')!.tls;
    });
    expect(checkGateways(plainHttps, iop)).toEqual([expect.stringContaining('HTTPS port 8443 does not terminate TLS')]);
  });

  test('mTLS is STRICT mesh-wide, PERMISSIVE only on exactly the services\' http-metrics ports', () => {
    expect(checkPeerAuthentication(objects)).toEqual([]);
    const permissive = ofKind<IPeerAuthentication>(objects, 'PeerAuthentication').flatMap((p) => Object.keys(p.spec?.portLevelMtls ?? {}));
    expect(permissive.sort()).toEqual(['9464', '9465']);
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
  test('istio/install/istio-config.yaml is one IstioOperator with Istio 1.30 field names, tracing, NodePort gateway and small resources', () => {
    expect(iopDocs).toHaveLength(1);
    expect(checkIstioOperator(iop)).toEqual([]);
    const typo = structuredClone(iop) as IstioOperatorDoc & { spec: { meshconfig?: unknown } };
    typo.spec.meshconfig = typo.spec.meshConfig;
    delete typo.spec.meshConfig;
    expect(checkIstioOperator(typo)).toContainEqual('spec: unknown field meshconfig');
    const privileged = structuredClone(iop);
    privileged.spec!.components!.ingressGateways![0]!.k8s!.service!.ports![1]!.targetPort = 80;
    expect(checkIstioOperator(privileged)).toEqual(['ingress gateway port http2: targetPort below 1024']);
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
