// Real istioctl 1.30.3 (built from the pinned istio.io/istio module by
// scripts/tools/istio.sh) on the project's Istio configuration, without a cluster:
// what `istioctl install -f istio/install/istio-config.yaml` installs, `validate` on
// every manifest, and `analyze` in file mode on what Tilt applies. File mode skips
// the analyzers that need live Pods, Services and Namespaces; test/cluster/istio.test.ts
// runs them against the real-cluster tier's API server.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { type IstioOperatorDoc, ingressGateway } from './support/manifest-checks';
import { type KubeObject, loadYamlDocuments } from './support/manifests';
import {
  configMapData,
  findObject,
  installConfig,
  istioctl,
  istioctlOk,
  renderInstall,
  scratchFile,
  skippedAnalyzers,
  tiltAppliedFiles,
} from './support/istioctl';
import { repoRoot, toolPath } from './support/tools';

interface Container {
  name: string;
  image?: string;
  ports?: { containerPort: number }[];
  resources?: unknown;
}
interface DeploymentShape extends KubeObject {
  spec: { replicas?: number; template: { spec: { containers: Container[]; initContainers?: Container[] } } };
}
interface ServiceShape extends KubeObject {
  spec: { type?: string; ports: { name?: string; port: number; targetPort?: number | string; nodePort?: number }[] };
}

const iop = loadYamlDocuments(installConfig)[0] as IstioOperatorDoc;
/** The Istio release this project pins (Tiltfile install hint: "istioctl 1.30.3: ..."). */
const pinned = /'istioctl': 'istioctl (\d+\.\d+\.\d+):/.exec(readFileSync(`${repoRoot}/Tiltfile`, 'utf8'))?.[1];

let rendered: KubeObject[] = [];
let meshConfigFile = '';

beforeAll(() => {
  // Cold, this builds istioctl (10-20 min); `.ci/run` builds it up front.
  toolPath('istioctl');
  rendered = renderInstall();
  meshConfigFile = scratchFile('mesh.yaml', configMapData(rendered, 'istio', 'mesh'));
}, 40 * 60_000);

function deployment(name: string): DeploymentShape {
  return findObject(rendered, 'Deployment', name) as DeploymentShape;
}

function onlyContainer(name: string): Container {
  const containers = deployment(name).spec.template.spec.containers;
  expect(containers).toHaveLength(1);
  return containers[0] as Container;
}

/** A copy of a repository file with one text replaced, in the scratch folder. */
function mutatedFile(file: string, from: string | RegExp, to: string): string {
  const original = readFileSync(`${repoRoot}/${file}`, 'utf8');
  const changed = original.replace(from, to);
  if (changed === original) throw new Error(`${file}: ${String(from)} not found`);
  return scratchFile(file.replaceAll('/', '_'), changed);
}

test('istioctl is the release build of the version the Tiltfile pins (stamped, not "unknown")', () => {
  expect(pinned).toBe('1.30.3');
  expect(istioctlOk(['version', '--remote=false']).trim()).toBe(`client version: ${pinned}`);
});

describe('manifest generate -f istio/install/istio-config.yaml (what istioctl install applies)', () => {
  test('renders istiod, the ingress gateway, the injection and validation webhooks and the CRDs; no autoscaler, no egress gateway', () => {
    const names = rendered.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Deployment/istiod',
        'Service/istiod',
        'Deployment/istio-ingressgateway',
        'Service/istio-ingressgateway',
        'MutatingWebhookConfiguration/istio-sidecar-injector',
        'ValidatingWebhookConfiguration/istio-validator-istio-system',
        'ConfigMap/istio',
        'ConfigMap/istio-sidecar-injector',
        'CustomResourceDefinition/virtualservices.networking.istio.io',
        'CustomResourceDefinition/destinationrules.networking.istio.io',
        'CustomResourceDefinition/gateways.networking.istio.io',
        'CustomResourceDefinition/authorizationpolicies.security.istio.io',
        'CustomResourceDefinition/peerauthentications.security.istio.io',
        'CustomResourceDefinition/telemetries.telemetry.istio.io',
      ]),
    );
    expect(names.filter((n) => n.startsWith('HorizontalPodAutoscaler/'))).toEqual([]);
    expect(names.filter((n) => n.includes('egressgateway'))).toEqual([]);
    expect(deployment('istiod').spec.replicas ?? 1).toBe(1);
  });

  test('the gateway Service publishes http2 and https on the NodePorts ctlptl.yaml maps to localhost:8080 and :8443, down to the Gateway servers', () => {
    interface Mapping { containerPort: number; hostPort: number }
    const ctlptl = loadYamlDocuments('ctlptl.yaml') as { kind?: string; kindV1Alpha4Cluster?: { nodes?: { extraPortMappings?: Mapping[] }[] } }[];
    const mappings = ctlptl.find((d) => d.kind === 'Cluster')?.kindV1Alpha4Cluster?.nodes?.[0]?.extraPortMappings ?? [];
    expect(mappings.map((m) => [m.hostPort, m.containerPort])).toEqual([[8080, 30080], [8443, 30443]]);

    const service = findObject(rendered, 'Service', 'istio-ingressgateway') as ServiceShape;
    expect(service.spec.type).toBe('NodePort');
    const containerPorts = onlyContainer('istio-ingressgateway').ports?.map((p) => p.containerPort) ?? [];
    const gatewayServers = (loadYamlDocuments('istio/mesh/gateway.yaml')[0] as { spec: { servers: { port: { number: number; protocol: string } }[] } }).spec.servers;
    const expected = { 8080: ['http2', 80, 'HTTP'], 8443: ['https', 443, 'HTTPS'] } as const;
    for (const mapping of mappings) {
      const [name, port, protocol] = expected[mapping.hostPort as 8080 | 8443];
      const servicePort = service.spec.ports.find((p) => p.nodePort === mapping.containerPort);
      expect(servicePort, `NodePort ${mapping.containerPort}`).toMatchObject({ name, port });
      const target = servicePort?.targetPort;
      expect(typeof target).toBe('number');
      expect(containerPorts).toContain(target);
      expect(gatewayServers.map((s) => [s.port.number, s.port.protocol])).toContainEqual([target, protocol]);
    }
    // The readiness port stays in the replaced list.
    expect(service.spec.ports.map((p) => p.name)).toContain('status-port');
  });

  test('every image is the docker.io/istio release the pinned istioctl reports (1.30.3), never a test build', () => {
    const images = ['istiod', 'istio-ingressgateway'].flatMap((name) => {
      const spec = deployment(name).spec.template.spec;
      return [...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.image);
    });
    expect(images.sort()).toEqual([`docker.io/istio/pilot:${pinned}`, `docker.io/istio/proxyv2:${pinned}`].sort());
    // The sidecars istiod injects take hub, tag and image from the injector's values.
    const values = JSON.parse(configMapData(rendered, 'istio-sidecar-injector', 'values')) as {
      global: { hub: string; tag: string; proxy: { image: string }; proxy_init: { image: string } };
    };
    expect(values.global).toMatchObject({ hub: 'docker.io/istio', tag: pinned, proxy: { image: 'proxyv2' }, proxy_init: { image: 'proxyv2' } });
    const text = JSON.stringify(rendered);
    expect(text).not.toContain('registry.istio.io/testing');
    expect(text).not.toMatch(/istio\/[a-z0-9-]+:latest/);
  });

  test("keeps the install config's sizes: istiod's, the gateway's and every sidecar's resources", () => {
    expect(onlyContainer('istiod').resources).toEqual(iop.spec?.components?.pilot?.k8s?.resources);
    expect(onlyContainer('istio-ingressgateway').resources).toEqual(ingressGateway(iop)?.k8s?.resources);
    const values = JSON.parse(configMapData(rendered, 'istio-sidecar-injector', 'values')) as { global: { proxy: { resources: unknown } } };
    expect(values.global.proxy.resources).toEqual(iop.spec?.values?.global?.proxy?.resources);
  });

  test('the mesh config istiod reads holds every meshConfig setting of the install config', () => {
    // Istio accepts unknown meshConfig keys silently (istioctl, analyze and istiod alike:
    // protomarshal.ApplyYAML falls back to AllowUnknownFields), so a misspelled key would be
    // carried over too; manifest-checks' named-field checks of meshConfig stay for that.
    const mesh = parse(configMapData(rendered, 'istio', 'mesh')) as Record<string, unknown>;
    expect(mesh).toMatchObject(iop.spec?.meshConfig ?? {});
  });

  test('refuses an install config with a misspelled values field instead of installing without it', () => {
    const bad = mutatedFile(installConfig, 'autoscaleEnabled: false', 'autoscaleEnabeld: false');
    const run = istioctl(['manifest', 'generate', '-f', bad]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('unknown field "autoscaleEnabeld"');
  });
});

/** Every manifest of istio/ (install config and mesh), k8s/ and the observability add-ons. */
const validated = [installConfig, ...tiltAppliedFiles()];

describe('istioctl validate', () => {
  test.each(validated)('%s is valid', (file) => {
    const run = istioctl(['validate', '-f', file]);
    expect(run.status).toBe(0);
    // istioctl prints its verdict on stderr; nothing else (no warning) may appear.
    expect((run.stdout + run.stderr).trim()).toBe(`"${file}" is valid`);
  });

  test('rejects a negative route weight and a malformed timeout, but accepts weights that do not sum to 100 (the project checks that itself)', () => {
    const file = 'istio/mesh/business-logic-routes.yaml';
    const negative = istioctl(['validate', '-f', mutatedFile(file, /weight: 100/, 'weight: -10')]);
    expect(negative.status).not.toBe(0);
    expect(negative.stderr).toContain('weight -10 < 0');
    const timeout = istioctl(['validate', '-f', mutatedFile(file, /timeout: 10s/, 'timeout: 10x')]);
    expect(timeout.status).not.toBe(0);
    expect(timeout.stderr).toContain('bad Duration');
    // Istio 1.30 treats weights as relative: 90 + 0 passes (manifest-checks' checkRouteWeights keeps the sum rule).
    const sum90 = istioctl(['validate', '-f', mutatedFile(file, /weight: 100/, 'weight: 90')]);
    expect(sum90.status).toBe(0);
  });
});

describe('istioctl analyze --use-kube=false (file mode) on what Tilt applies', () => {
  const analyze = (files: string[], extra: string[] = []) =>
    istioctl(['analyze', '--use-kube=false', '--all-namespaces', '--meshConfigFile', meshConfigFile, ...extra, ...files]);

  test('finds no issue, with the mesh config the install renders', () => {
    const run = analyze(tiltAppliedFiles());
    expect(run.stdout + run.stderr).toContain('No validation issues found');
    expect(run.status).toBe(0);
  });

  test('reports a route to a subset no DestinationRule defines (IST0101), so the analyzers do run', () => {
    const files = tiltAppliedFiles().filter((f) => f !== 'istio/mesh/business-logic-routes.yaml');
    const bad = mutatedFile('istio/mesh/business-logic-routes.yaml', /subset: v2/g, 'subset: v3');
    const run = analyze([...files, bad]);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toContain('Error [IST0101] (VirtualService meshloop/business-logic');
    expect(run.stdout).toContain('business-logic.meshloop.svc.cluster.local+v3');
  });

  test('skips, without a word unless -v, the analyzers that need live Pods, Services and Namespaces (the cluster tier runs them)', () => {
    const quiet = analyze(tiltAppliedFiles());
    expect(quiet.stdout + quiet.stderr).not.toContain('Skipped analyzers');
    const run = analyze(tiltAppliedFiles(), ['-v']);
    expect(run.status).toBe(0);
    const skipped = skippedAnalyzers(run.stderr);
    expect(skipped).toEqual(expect.arrayContaining(['service.PortNameAnalyzer', 'injection.Analyzer', 'destinationrule.SubsetSelectPodAnalyzer', 'gateway.IngressGatewayPortAnalyzer']));
    console.log(`[istioctl] analyze file mode skipped ${skipped.length} analyzers: ${skipped.join(', ')}`);
  });
});
