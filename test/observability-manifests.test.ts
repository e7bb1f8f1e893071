// The observability add-ons as Kubernetes objects: the manifests in observability/
// plus the ConfigMaps observability/Tiltfile generates, exactly as real Tilt
// evaluates them (`tilt alpha tiltfile-result`), cross-checked against the project's
// conventions; and the Tilt resources that deploy them. (Their schemas, and requests
// within limits, are checked by the real API server: test/cluster/manifests-api.test.ts.)
import path from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IProbe } from 'kubernetes-models/v1';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkLabels,
  checkServiceAccounts,
  checkServicePortNames,
  checkServiceSelectors,
  quantity,
} from './support/manifest-checks';
import { loadManifests, ofKind, type KubeObject } from './support/manifests';
import { nonManifestFiles, observabilityDir } from './support/observability';
import { CLUSTER_CONTEXT, tiltfileResult, tiltfileResultOf, type TiltfileResult } from './support/tilt';

const tools = ['jaeger', 'prometheus', 'loki', 'grafana', 'kiali'] as const;
/** Ports and forwards as docs/cluster-layout.md names them. */
const layout = {
  services: { jaeger: [9411, 4317, 4318, 16686], prometheus: [9090], loki: [3100], grafana: [3000], kiali: [20001] },
  portForwards: { jaeger: '16686:16686', prometheus: '9090:9090', grafana: '3000:3000', kiali: '20001:20001' } as Record<string, string>,
};
/** Budget for the add-ons (the whole stack incl. Istio: requests <= 1.5 CPU / 3 GiB, limits <= 6 GiB). */
const budget = { requestCpu: 0.5, requestMemory: 1.2 * 2 ** 30, limitMemory: 2.5 * 2 ** 30 };

const staticObjects = loadManifests(['observability'], nonManifestFiles).map((m) => m.object);

/** Evaluates a Tiltfile that loads observability/Tiltfile with a stand-in mesh resource `istio`. */
function observabilityTiltfile(): Promise<TiltfileResult> {
  return tiltfileResultOf([
    `load('${path.join(observabilityDir, 'Tiltfile')}', 'deploy_observability', 'jaeger_service_link')`,
    "local_resource('istio', cmd='true')",
    "deploy_observability('istio')",
    "local_resource('frontend-link-check', cmd='true', links=[jaeger_service_link('frontend')])",
  ]);
}

function objectsOf(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o);
}

let tilt: TiltfileResult;
/** Every object Tilt applies for the add-ons (manifests + generated ConfigMaps). */
let applied: KubeObject[] = [];
beforeAll(async () => {
  tilt = await observabilityTiltfile();
  applied = tools.flatMap((tool) => objectsOf(tilt.resource(tool).yaml));
}, 120_000);

const deployments = () => ofKind<IDeployment>(applied, 'Deployment');
const containers = () =>
  deployments().flatMap((d) => (d.spec?.template.spec?.containers ?? []).map((c) => ({ d, c, where: `${d.metadata.name}/${c.name}` })));

describe('observability manifests as Kubernetes objects', () => {
  it('observability/Tiltfile generates one ConfigMap per tool config (Grafana: datasources, dashboards and their provider)', () => {
    expect(staticObjects.length).toBeGreaterThan(15);
    expect(ofKind(applied, 'ConfigMap').map((c) => c.metadata.name).sort()).toEqual([
      'grafana-dashboard-providers',
      'grafana-dashboards',
      'grafana-datasources',
      'jaeger',
      'kiali',
      'loki',
      'prometheus',
    ]);
  });

  it('Tilt applies every object of the manifests, each exactly once', () => {
    const id = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const withoutNamespace = staticObjects.filter((o) => o.kind !== 'Namespace');
    expect(applied.filter((o) => o.kind !== 'ConfigMap').map(id).sort()).toEqual(withoutNamespace.map(id).sort());
  });

  it('the namespace observability is not injected, and every add-on pod opts out of the mesh explicitly', () => {
    const namespaces = ofKind(staticObjects, 'Namespace');
    expect(namespaces.map((n) => n.metadata.name)).toEqual(['observability']);
    expect(namespaces[0]?.metadata.labels?.['istio-injection']).not.toBe('enabled');
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of applied.filter((x) => !clusterScoped.has(x.kind))) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('observability');
    expect(deployments().map((d) => d.metadata.name).sort()).toEqual([...tools].sort());
    for (const d of deployments()) expect(d.spec?.template.metadata?.labels?.['sidecar.istio.io/inject'], d.metadata.name).toBe('false');
  });

  it('Services select their Deployment\'s pods on named container ports, with Istio port names, as docs/cluster-layout.md lists them', () => {
    expect([...checkServiceSelectors(applied), ...checkServicePortNames(applied)]).toEqual([]);
    const services = ofKind<{ spec: { ports: Array<{ port: number; targetPort?: string | number }> } }>(applied, 'Service');
    expect(Object.fromEntries(services.map((s) => [s.metadata.name, s.spec.ports.map((p) => p.port)]))).toEqual(layout.services);
    for (const s of services) for (const p of s.spec.ports) expect(typeof p.targetPort, `${s.metadata.name} ${p.port}`).toBe('string');
  });

  it('Deployments run as their own ServiceAccount and carry app, version and app.kubernetes.io labels', () => {
    expect([...checkServiceAccounts(applied), ...checkLabels(applied)]).toEqual([]);
  });

  it('images are pinned by an exact version tag (Jaeger 2, Prometheus 3, Loki 3, Grafana 12, Kiali 2) that the version label repeats', () => {
    const majors: Record<string, number> = { jaeger: 2, prometheus: 3, loki: 3, grafana: 12, kiali: 2 };
    for (const { d, c, where } of containers()) {
      const match = /^[\w.\-/]+:v?(\d+)\.(\d+)\.(\d+)$/.exec(c.image ?? '');
      expect(match, `${where}: ${c.image}`).not.toBeNull();
      expect(Number(match?.[1]), where).toBe(majors[d.metadata.name]);
      expect(d.spec?.template.metadata?.labels?.version, where).toBe(`${match?.[1]}.${match?.[2]}.${match?.[3]}`);
    }
  });

  it('every container is hardened: non-root uid, no privilege escalation, ALL capabilities dropped, RuntimeDefault seccomp, read-only root filesystem', () => {
    for (const { d, c, where } of containers()) {
      const pod = d.spec?.template.spec?.securityContext ?? {};
      const sc = c.securityContext ?? {};
      expect(sc.runAsNonRoot ?? pod.runAsNonRoot, where).toBe(true);
      expect(sc.runAsUser ?? pod.runAsUser, where).toBeGreaterThan(0);
      expect(sc.allowPrivilegeEscalation, where).toBe(false);
      expect(sc.capabilities?.drop, where).toEqual(['ALL']);
      expect(sc.capabilities?.add, where).toBeUndefined();
      expect((sc.seccompProfile ?? pod.seccompProfile)?.type, where).toBe('RuntimeDefault');
      expect(sc.readOnlyRootFilesystem, where).toBe(true);
      expect(sc.privileged ?? false, where).toBe(false);
    }
  });

  it('writable paths are size-limited emptyDirs; config comes read-only from a generated ConfigMap', () => {
    const configMaps = new Map(ofKind<{ data: Record<string, string> }>(applied, 'ConfigMap').map((c) => [c.metadata.name, c]));
    for (const { d, c, where } of containers()) {
      const volumes = new Map((d.spec?.template.spec?.volumes ?? []).map((v) => [v.name, v]));
      for (const mount of c.volumeMounts ?? []) {
        const volume = volumes.get(mount.name);
        expect(volume, `${where} mount ${mount.name}`).toBeDefined();
        if (volume?.emptyDir) expect(volume.emptyDir.sizeLimit, `${where} emptyDir ${mount.name}`).toBeDefined();
        else {
          expect(volume?.configMap?.name && configMaps.has(volume.configMap.name), `${where} volume ${mount.name} is a generated ConfigMap`).toBe(true);
          expect(mount.readOnly, `${where} ${mount.mountPath}`).toBe(true);
        }
      }
    }
  });

  it('each tool\'s config file argument is a key of the ConfigMap mounted at that directory', () => {
    const configMaps = new Map(ofKind<{ data: Record<string, string> }>(applied, 'ConfigMap').map((c) => [c.metadata.name, c.data]));
    const configArg = /^(?:--?config(?:\.file)?)(?:=(.+))?$/;
    let checked = 0;
    for (const { d, c, where } of containers()) {
      const argv = [...(c.command ?? []), ...(c.args ?? [])];
      const index = argv.findIndex((a) => configArg.test(a));
      if (index < 0) continue;
      const file = configArg.exec(argv[index] ?? '')?.[1] ?? argv[index + 1] ?? '';
      const mount = (c.volumeMounts ?? []).find((m) => path.dirname(file) === m.mountPath);
      const volume = (d.spec?.template.spec?.volumes ?? []).find((v) => v.name === mount?.name);
      const data = configMaps.get(volume?.configMap?.name ?? '');
      expect(data && Object.keys(data), `${where}: ${file}`).toContain(path.basename(file));
      checked++;
    }
    expect(checked).toBe(4); // jaeger, prometheus, loki, kiali (Grafana reads fixed provisioning paths)
  });

  it('a configuration change rolls the pod: the pod template carries a hash of its ConfigMaps', () => {
    for (const d of deployments()) {
      expect(d.spec?.template.metadata?.annotations?.['meshloop.dev/config-hash'], d.metadata.name).toMatch(/^-?\d+$/);
    }
  });

  it('every container has readiness and liveness probes on its own declared ports', () => {
    for (const { c, where } of containers()) {
      const ports = new Set<string | number>((c.ports ?? []).flatMap((p) => [p.containerPort, ...(p.name ? [p.name] : [])]));
      for (const [kind, probe] of [['readinessProbe', c.readinessProbe], ['livenessProbe', c.livenessProbe]] as Array<[string, IProbe | undefined]>) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        expect(port, `${where} ${kind}`).toBeDefined();
        expect(ports, `${where} ${kind}`).toContain(port);
      }
    }
  });

  it('RBAC is read-only (get/list/watch), except the port-forward Kiali uses to read istiod', () => {
    const roles = ofKind<IClusterRole>(applied, 'ClusterRole');
    expect(roles.map((r) => r.metadata.name).sort()).toEqual(['meshloop-kiali-viewer', 'meshloop-prometheus']);
    for (const role of roles) {
      for (const rule of role.rules ?? []) {
        const writes = rule.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
        if (writes.length === 0) continue;
        expect(`${role.metadata.name} ${rule.resources?.join(',')} ${writes.join(',')}`).toBe('meshloop-kiali-viewer pods/portforward create,post');
      }
    }
    const bindings = ofKind<{ roleRef: { name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> }>(applied, 'ClusterRoleBinding');
    const accounts = new Set(ofKind(applied, 'ServiceAccount').map((sa) => `${sa.metadata.namespace}/${sa.metadata.name}`));
    for (const b of bindings) {
      expect(roles.map((r) => r.metadata.name)).toContain(b.roleRef.name);
      for (const s of b.subjects) expect(accounts, b.metadata.name).toContain(`${s.namespace}/${s.name}`);
    }
  });

  it('fits the laptop budget: the add-ons\' requests and limits, summed (reported for the footprint)', () => {
    const sum = { requestCpu: 0, requestMemory: 0, limitCpu: 0, limitMemory: 0 };
    const rows: string[] = [];
    for (const { c, where } of containers()) {
      const r = c.resources ?? {};
      const value = (group: Record<string, unknown> | undefined, key: string) => {
        const v = group?.[key];
        expect(v, `${where} ${key}`).toBeDefined();
        return quantity(v as string);
      };
      const row = {
        requestCpu: value(r.requests, 'cpu'),
        requestMemory: value(r.requests, 'memory'),
        limitCpu: value(r.limits, 'cpu'),
        limitMemory: value(r.limits, 'memory'),
      };
      for (const key of Object.keys(sum) as Array<keyof typeof sum>) sum[key] += row[key];
      rows.push(`${where}: requests ${row.requestCpu * 1000}m/${row.requestMemory / 2 ** 20}Mi, limits ${row.limitCpu * 1000}m/${row.limitMemory / 2 ** 20}Mi`);
    }
    const mi = (bytes: number) => `${bytes / 2 ** 20}Mi`;
    console.log(
      ['observability add-ons footprint:', ...rows, `total: requests ${Math.round(sum.requestCpu * 1000)}m/${mi(sum.requestMemory)}, limits ${Math.round(sum.limitCpu * 1000)}m/${mi(sum.limitMemory)}`].join('\n  '),
    );
    expect(sum.requestCpu).toBeLessThanOrEqual(budget.requestCpu);
    expect(sum.requestMemory).toBeLessThanOrEqual(budget.requestMemory);
    expect(sum.limitMemory).toBeLessThanOrEqual(budget.limitMemory);
  });
});

describe('observability/Tiltfile, evaluated by real Tilt', () => {
  it('defines jaeger, prometheus, loki, grafana and kiali under the label observability, after the namespace resource', () => {
    for (const tool of tools) {
      const r = tilt.resource(tool);
      expect(r.kind, tool).toBe('k8s');
      expect(r.labels, tool).toEqual(['observability']);
      expect(r.resourceDeps, tool).toContain('observability-namespace');
    }
    // Kiali needs Istio's CRDs; the namespace waits for the mesh resource (so for the cluster).
    expect(tilt.resource('kiali').resourceDeps).toContain('istio');
    expect(tilt.resource('observability-namespace').resourceDeps).toEqual(['istio']);
  });

  it('creates the namespace with kubectl and deletes it on `tilt down` (Tilt itself keeps namespaces)', () => {
    const ns = tilt.resource('observability-namespace');
    const file = path.join(observabilityDir, 'namespace.yaml');
    expect(ns.kind).toBe('k8s_custom_deploy');
    expect(ns.labels).toEqual(['observability']);
    expect(ns.applyCmd).toEqual(['kubectl', 'apply', '-f', file, '-o', 'yaml']);
    expect(ns.deleteCmd?.slice(0, 2)).toEqual(['kubectl', 'delete']);
    expect(ns.deleteCmd).toContain(file);
  });

  it('forwards LOCAL:CONTAINER ports as docs/cluster-layout.md lists them, and links each UI', () => {
    for (const tool of tools) {
      const r = tilt.resource(tool);
      const forwards = r.portForwards.map((f) => `${f.local}:${f.container}`);
      expect(forwards, tool).toEqual(layout.portForwards[tool] ? [layout.portForwards[tool]] : []);
      expect(r.links.length, tool).toBeGreaterThan(0);
      for (const link of r.links) expect(link.url, `${tool} ${link.name}`).toMatch(/^http:\/\/localhost:(16686|9090|3000|20001)(\/|$)/);
    }
    expect(tilt.resource('jaeger').links.map((l) => l.url)).toContain('http://localhost:16686');
    expect(tilt.resource('grafana').links.map((l) => l.url)).toEqual(['http://localhost:3000/d/meshloop-red', 'http://localhost:3000/d/meshloop-mesh']);
    expect(tilt.resource('kiali').links[0]?.url).toMatch(/^http:\/\/localhost:20001\/kiali\//);
  });

  it('exports jaeger_service_link: Jaeger\'s search filtered to one service, for the services\' own resources', () => {
    expect(tilt.resource('frontend-link-check').links).toEqual([{ url: 'http://localhost:16686/search?service=frontend', name: 'Jaeger: frontend traces' }]);
  });

  it('the project Tiltfile deploys the same add-ons with their forwards (cluster mode)', async () => {
    const project = await tiltfileResult({ context: CLUSTER_CONTEXT });
    for (const tool of tools) {
      const r = project.resource(tool);
      expect(r.labels, tool).toEqual(['observability']);
      expect(r.portForwards.map((f) => `${f.local}:${f.container}`), tool).toEqual(layout.portForwards[tool] ? [layout.portForwards[tool]] : []);
      expect(r.links.length, tool).toBeGreaterThan(0);
    }
  }, 120_000);
});
