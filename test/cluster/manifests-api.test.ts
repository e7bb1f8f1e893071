// Every object the product applies, checked by the real tools instead of hand-written
// schema copies: the real-cluster tier's kube-apiserver (server-side apply, dry run,
// strict field validation: schema, types, required fields, unknown and duplicate
// fields), Istio's CRD schemas and istiod's validating webhook (istiod from the
// pinned istio.io/istio module, installed by real istioctl), and `istioctl analyze`
// against the live API server, which runs the analyzers that file mode skips.
// Self-contained: it installs Istio and creates the namespaces, Secret and objects only
// if they are missing, and removes exactly what it created.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { loadRoutes, setCanaryWeight, setFaults, toYaml, virtualService } from '../../scripts/mesh/routes';
import { kubectlPath } from '../support/cluster/node';
import { installConfig, istioctl, scratchFile, skippedAnalyzers, tiltAppliedFiles } from '../support/istioctl';
import { loadYamlDocuments, type KubeObject } from '../support/manifests';
import { CLUSTER_CONTEXT, tiltfileResult } from '../support/tilt';
import { repoRoot } from '../support/tools';

const cluster = inject('cluster');
const loadText = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The tier's kubectl against the node; never rejects for a non-zero exit (the tests read stderr). */
function kubectl(args: string[], input?: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      kubectlPath,
      ['--kubeconfig', cluster.kubeconfig, ...args],
      { timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

async function kubectlOk(args: string[], input?: string, timeoutMs?: number): Promise<string> {
  const run = await kubectl(args, input, timeoutMs);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

const yamlOf = (objects: KubeObject[]) => objects.map((o) => stringify(o)).join('---\n');
const objectsOf = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o);
const id = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Server-side apply, dry run on the server, strict field validation (kubectl sends fieldValidation=Strict). */
const dryRun = (yaml: string) =>
  kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=meshloop-manifests-api', '--dry-run=server', '--validate=strict', '-f', '-'], yaml);

/** istioctl against the live API server of the tier. */
const istioctlLive = (args: string[], timeoutMs = 180_000) => istioctl(args, { kubeconfig: cluster.kubeconfig, timeoutMs });

interface Applied {
  /** What Tilt applies, by source: resource name or file. */
  sources: Map<string, KubeObject[]>;
}

describe('every manifest the product applies, against the real API server, istiod and istioctl analyze', () => {
  const applied: Applied = { sources: new Map() };
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'meshloop-manifests-api-'));
  /** What this file created, newest last, so that cleanup removes exactly that. */
  const created: { objects: KubeObject[]; istio: boolean } = { objects: [], istio: false };
  let cleaned = false;
  let before: { namespaces: string[]; crds: string[]; webhooks: string[] } | undefined;

  const clusterState = async () => ({
    namespaces: (await kubectlOk(['get', 'namespaces', '-o', 'name'])).split('\n').filter(Boolean).sort(),
    crds: (await kubectlOk(['get', 'crd', '-o', 'name'])).split('\n').filter(Boolean).sort(),
    webhooks: (await kubectlOk(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-o', 'name'])).split('\n').filter(Boolean).sort(),
  });

  /** The objects of `objects` that do not exist in the cluster yet. */
  async function missing(objects: KubeObject[]): Promise<KubeObject[]> {
    const run = await kubectl(['get', '--ignore-not-found', '-o', 'json', '-f', '-'], yamlOf(objects));
    if (run.code !== 0) throw new Error(`kubectl get -f -: ${run.stderr}`);
    const list = run.stdout.trim() === '' ? { items: [] } : (JSON.parse(run.stdout) as { items?: KubeObject[] });
    // One object comes back as itself, several as a List.
    const existing = new Set((list.items ?? [list as unknown as KubeObject]).filter((o) => o.kind).map(id));
    return objects.filter((o) => !existing.has(id(o)));
  }

  /** Really applies the objects that are missing and remembers them for cleanup. */
  async function createMissing(objects: KubeObject[]): Promise<void> {
    const absent = await missing(objects);
    if (absent.length === 0) return;
    await kubectlOk(['apply', '--server-side', '--field-manager=meshloop-manifests-api', '-f', '-'], yamlOf(absent));
    created.objects.push(...absent);
  }

  async function cleanup(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    const errors: string[] = [];
    // Namespaced objects first (reverse order), then the namespaces, then Istio.
    for (const object of [...created.objects].reverse()) {
      const run = await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], yamlOf([object]));
      if (run.code !== 0) errors.push(run.stderr);
    }
    const namespaces = created.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    if (namespaces.length > 0) {
      const run = await kubectl(['delete', 'namespace', '--ignore-not-found', '--timeout=180s', ...namespaces], undefined, 200_000);
      if (run.code !== 0) errors.push(run.stderr);
    }
    if (created.istio) {
      const run = istioctlLive(['uninstall', '--purge', '-y'], 300_000);
      if (run.status !== 0) errors.push(run.stderr);
      const ns = await kubectl(['delete', 'namespace', 'istio-system', '--ignore-not-found', '--timeout=180s'], undefined, 200_000);
      if (ns.code !== 0) errors.push(ns.stderr);
    }
    rmSync(scratch, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`cleanup: ${errors.join('\n')}`);
  }

  beforeAll(async () => {
    before = await clusterState();
    // Istio: CRDs, istiod and its webhooks, installed by real istioctl as the Tiltfile does
    // (unless something before this file left an installation, which then stays).
    const istiod = await kubectl(['-n', 'istio-system', 'get', 'deployment', 'istiod', '-o', 'name']);
    if (istiod.code !== 0) {
      created.istio = true;
      const install = istioctlLive(['install', '-y', '-f', installConfig], 600_000);
      if (install.status !== 0) throw new Error(`istioctl install failed:\n${install.stderr}${install.stdout}`);
    }
    // The webhook answers only once istiod serves; wait for its endpoint.
    await kubectlOk(['-n', 'istio-system', 'wait', '--for=condition=Available', 'deployment/istiod', '--timeout=300s'], undefined, 320_000);

    // What Tilt applies in cluster mode, as real Tilt evaluates the Tiltfile: the two
    // namespace files of its custom deploys, the YAML of every k8s resource (services,
    // canary, mesh-config, the add-ons with the ConfigMaps observability/Tiltfile
    // generates), and the tls-cert Secret scripts/mesh/local-ca.sh makes.
    const tilt = await tiltfileResult({ context: CLUSTER_CONTEXT });
    for (const file of ['k8s/namespace.yaml', 'observability/namespace.yaml']) applied.sources.set(file, loadYamlDocuments(file) as KubeObject[]);
    for (const resource of tilt.resources.filter((r) => r.kind === 'k8s')) applied.sources.set(resource.name, objectsOf(resource.yaml));
    const secret = await new Promise<string>((resolve, reject) =>
      execFile('bash', [path.join(repoRoot, 'scripts/mesh/local-ca.sh'), '--dir', path.join(scratch, 'tls'), '--dry-run'], { timeout: 60_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`local-ca.sh --dry-run: ${stderr}`)) : resolve(stdout),
      ),
    );
    applied.sources.set('tls-cert', objectsOf(secret));
  }, 15 * 60_000);

  afterAll(async () => {
    await cleanup();
  }, 10 * 60_000);

  const all = () => [...applied.sources.values()].flat();

  it('the set covers every object of k8s/, istio/mesh/ and observability/ that Tilt applies, plus the generated ConfigMaps and the TLS Secret', () => {
    const fromFiles = tiltAppliedFiles().flatMap((file) => loadYamlDocuments(file) as KubeObject[]);
    const ids = new Set(all().map(id));
    expect(fromFiles.map(id).filter((x) => !ids.has(x))).toEqual([]);
    expect(all().filter((o) => o.kind === 'ConfigMap').length).toBeGreaterThanOrEqual(7);
    expect(all().filter((o) => o.kind === 'Secret').map(id)).toEqual(['Secret/istio-system/meshloop-tls']);
  });

  it('the namespaces apply for real (and exist for the dry runs of what goes into them)', async () => {
    const namespaces = all().filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.name).sort()).toEqual(['meshloop', 'observability']);
    for (const ns of namespaces) {
      const run = await dryRun(yamlOf([ns]));
      expect(run.stderr, ns.metadata.name).toBe('');
      expect(run.code).toBe(0);
    }
    await createMissing(namespaces);
    const live = await kubectlOk(['get', 'namespace', 'meshloop', '-o', 'jsonpath={.metadata.labels.istio-injection}']);
    expect(live).toBe('enabled');
  });

  it('every other object passes server-side apply (dry run, strict field validation) with no error and no warning', async () => {
    const results: string[] = [];
    for (const [source, objects] of applied.sources) {
      if (objects.every((o) => o.kind === 'Namespace')) continue;
      const run = await dryRun(yamlOf(objects));
      // kubectl prints the server's warnings on stderr; nothing may appear there.
      if (run.code !== 0 || run.stderr.trim() !== '') results.push(`${source}: exit ${run.code}\n${run.stderr}`);
      else expect(run.stdout.split('\n').filter(Boolean), source).toHaveLength(objects.length);
    }
    expect(results).toEqual([]);
  });

  it("every object the mesh buttons can apply (each Canary weight, each Faults choice, Reset) passes the API server and istiod's webhook", async () => {
    const renders: Array<[string, string]> = [];
    for (const weight of [0, 10, 50, 100]) {
      const documents = loadRoutes(repoRoot);
      setCanaryWeight(virtualService(documents), weight);
      renders.push([`canary ${weight}`, toYaml(documents)]);
    }
    for (const [delayPercent, delaySeconds, abortPercent, abortStatus] of [
      [10, 2, 0, 503], [50, 5, 0, 503], [100, 12, 0, 503], [0, 2, 10, 500], [0, 2, 50, 502], [0, 2, 100, 504], [100, 12, 100, 503],
    ] as const) {
      const documents = loadRoutes(repoRoot);
      setFaults(virtualService(documents), { delayPercent, delaySeconds, abortPercent, abortStatus });
      renders.push([`faults ${delayPercent}%/${delaySeconds}s ${abortPercent}%/${abortStatus}`, toYaml(documents)]);
    }
    renders.push(['reset', toYaml(loadRoutes(repoRoot))]);
    const failures: string[] = [];
    for (const [what, yaml] of renders) {
      const run = await dryRun(yaml);
      if (run.code !== 0 || run.stderr.trim() !== '') failures.push(`${what}: ${run.stderr}`);
    }
    expect(failures).toEqual([]);
  });

  describe('the checks bite: the server rejects, with its own message', () => {
    /** A copy of one object under a name no earlier run can have left (so nothing merges with a live object). */
    const find = (kind: string, name: string) => {
      const found = all().find((o) => o.kind === kind && o.metadata.name === name);
      if (!found) throw new Error(`no ${kind} ${name}`);
      const copy = structuredClone(found) as KubeObject & { spec: Record<string, unknown> };
      copy.metadata.name = `${name}-bite`;
      return copy;
    };

    it('an unknown field (strict field validation)', async () => {
      const deployment = find('Deployment', 'frontend');
      (deployment.spec.template as { spec: { containers: Array<Record<string, unknown>> } }).spec.containers[0]!.imagePullPolcy = 'Always';
      const run = await dryRun(yamlOf([deployment]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/imagePullPolcy/);
      expect(run.stderr).toMatch(/field not declared in schema/);
    });

    it('an unknown field in an Istio object (its CRD schema)', async () => {
      const vs = find('VirtualService', 'business-logic');
      (vs.spec as unknown as { http: Array<Record<string, unknown>> }).http[0]!.timeuot = '5s';
      const run = await dryRun(yamlOf([vs]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/\.spec\.http\[0\]\.timeuot: field not declared in schema/);
    });

    it('a wrongly typed field', async () => {
      const deployment = find('Deployment', 'business-logic');
      (deployment.spec as Record<string, unknown>).replicas = 'one';
      const run = await dryRun(yamlOf([deployment]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/\.spec\.replicas: expected numeric/);
    });

    it('a missing required field', async () => {
      const deployment = find('Deployment', 'frontend');
      delete (deployment.spec as Record<string, unknown>).selector;
      const run = await dryRun(yamlOf([deployment]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/spec\.selector: Required value/);
    });

    it('a container requesting more memory than its limit (pod template validation)', async () => {
      const deployment = find('Deployment', 'frontend');
      const container = (deployment.spec.template as { spec: { containers: Array<{ resources: { requests: Record<string, string> } }> } }).spec.containers[0]!;
      container.resources.requests.memory = '8Gi';
      const run = await dryRun(yamlOf([deployment]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/must be less than or equal to memory limit/);
    });

    it('a Deployment whose selector does not select its own pod template', async () => {
      const deployment = find('Deployment', 'business-logic');
      (deployment.spec.selector as { matchLabels: Record<string, string> }).matchLabels.version = 'v9';
      const run = await dryRun(yamlOf([deployment]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/`selector` does not match template `labels`/);
    });

    it("an Istio object istiod's validating webhook rejects (negative route weight)", async () => {
      const vs = find('VirtualService', 'business-logic');
      const routes = (vs.spec as unknown as { http: Array<{ route: Array<{ weight?: number }> }> }).http;
      routes.at(-1)!.route[0]!.weight = -10;
      const run = await dryRun(yamlOf([vs]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('admission webhook "validation.istio.io" denied the request: configuration is invalid: weight -10 < 0');
    });

    it("an HTTPS Gateway server without TLS settings (istiod's webhook)", async () => {
      const gateway = find('Gateway', 'meshloop-gateway');
      const servers = (gateway.spec as unknown as { servers: Array<{ port: { protocol: string }; tls?: unknown }> }).servers;
      delete servers.find((s) => s.port.protocol === 'HTTPS')!.tls;
      const run = await dryRun(yamlOf([gateway]));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('admission webhook "validation.istio.io" denied the request: configuration is invalid: server must have TLS settings for HTTPS/TLS protocols');
    });
  });

  describe('istioctl analyze against the live API server, with the whole set really applied', () => {
    let analyzeRun: ReturnType<typeof istioctl> | undefined;

    beforeAll(async () => {
      await createMissing(all());
      // The analyzers read the pods (injection, subsets, gateway ports): wait until every
      // Deployment's pods exist (their images need not be pullable here).
      const deployments = all().filter((o) => o.kind === 'Deployment');
      const deadline = Date.now() + 120_000;
      for (const d of deployments) {
        const labels = (d as KubeObject & { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels;
        const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
        for (;;) {
          const pods = await kubectlOk(['-n', d.metadata.namespace ?? 'default', 'get', 'pods', '-l', selector, '-o', 'name']);
          if (pods.trim() !== '') break;
          if (Date.now() > deadline) throw new Error(`no pod of Deployment ${d.metadata.namespace}/${d.metadata.name} after 120 s`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      analyzeRun = istioctlLive(['analyze', '--all-namespaces', '-v']);
    }, 5 * 60_000);

    it('runs every analyzer (none skipped, unlike file mode) and finds nothing in what the product applies', () => {
      const run = analyzeRun!;
      const skipped = skippedAnalyzers(run.stderr);
      console.log(`[manifests-api] istioctl analyze (live): ${skipped.length} analyzers skipped${skipped.length ? `: ${skipped.join(', ')}` : ''}\n${run.stdout}`);
      expect(skipped).toEqual([]);
      expect(run.stderr).toContain('Executed analyzers:');
      // Accepted: the cluster's own `default` namespace has no injection label (IST0102,
      // Info); the product deploys nothing there.
      const messages = run.stdout.split('\n').filter((l) => /^(Error|Warning|Info) \[IST\d+\]/.test(l));
      expect(messages.filter((l) => !l.startsWith('Info [IST0102] (Namespace default)'))).toEqual([]);
      expect(run.status).toBe(0);
    });

    // Overlays: a file given to analyze in live mode replaces the live object of that name,
    // so each broken copy is analyzed with everything else as it runs.
    const analyzeChanged = (file: string, from: string | RegExp, to: string) => {
      const original = loadText(file);
      const changed = original.replace(from, to);
      if (changed === original) throw new Error(`${file}: ${String(from)} not found`);
      const run = istioctlLive(['analyze', '--all-namespaces', scratchFile(`manifests-api-${path.basename(file)}`, changed)]);
      return run.stdout;
    };
    const routes = 'istio/mesh/business-logic-routes.yaml';
    it.each([
      ['a route to a Service that does not exist', routes, /(route:\n\s+- destination:\n\s+host: )business-logic\./, '$1business-logik.', /Error \[IST0101\] \(VirtualService meshloop\/business-logic .*\) Referenced host not found: "business-logik/],
      ['a route to a port the Service lacks', 'istio/mesh/frontend-routes.yaml', 'number: 8080', 'number: 80', /Error \[IST0101\] \(VirtualService meshloop\/frontend .*\) Referenced host:port not found: "frontend\.meshloop\.svc\.cluster\.local:80"/],
      ['a route bound to a Gateway that does not exist', 'istio/mesh/frontend-routes.yaml', '- meshloop-gateway', '- meshloop-gatewy', /Error \[IST0101\] \(VirtualService meshloop\/frontend .*\) Referenced gateway not found: "meshloop-gatewy"/],
      ['a route to a subset no DestinationRule defines', routes, /subset: v2/g, 'subset: v3', /Error \[IST0101\] \(VirtualService meshloop\/business-logic .*\) Referenced host\+subset in destinationrule not found: ".*\+v3"/],
      ['a DestinationRule for a host that is no Service', routes, /(kind: DestinationRule[\s\S]*?host: )business-logic\./, '$1business-logik.', /Warning \[IST0174\] \(DestinationRule meshloop\/business-logic .*\) The host business-logik\.meshloop\.svc\.cluster\.local defined in the DestinationRule does not match any services/],
      ['a DestinationRule subset that selects no pod', routes, 'version: v2', 'version: v9', /Error \[IST0173\] \(DestinationRule meshloop\/business-logic .*\) The Subset v2 defined in the DestinationRule does not select any pods/],
      ['a Gateway whose selector selects no gateway pod', 'istio/mesh/gateway.yaml', 'istio: ingressgateway', 'istio: ingress', /Error \[IST0101\] \(Gateway meshloop\/meshloop-gateway .*\) Referenced selector not found: "istio=ingress"/],
      ['a Gateway port the gateway Service does not expose', 'istio/mesh/gateway.yaml', 'number: 8443', 'number: 9443', /Warning \[IST0162\] \(Gateway meshloop\/meshloop-gateway .*\) The gateway is listening on a target port \(port 9443\) that is not defined in the Service/],
      ['a Gateway certificate Secret that does not exist', 'istio/mesh/gateway.yaml', 'credentialName: meshloop-tls', 'credentialName: meshloop-tlz', /Error \[IST0101\] \(Gateway meshloop\/meshloop-gateway .*\) Referenced credentialName not found: "meshloop-tlz"/],
      ['an AuthorizationPolicy whose selector selects no workload', 'istio/mesh/authorization.yaml', /(name: frontend-from-ingress-gateway[\s\S]*?app: )frontend/, '$1frontnd', /Warning \[IST0127\] \(AuthorizationPolicy meshloop\/frontend-from-ingress-gateway .*\) No matching workloads for this resource with the following labels: app=frontnd/],
    ] as const)('reports %s', (_, file, from, to, message) => {
      expect(analyzeChanged(file, from, to)).toMatch(message);
    });
  });

  it('removes what it created: namespaces, CRDs and webhooks are as before', async () => {
    await cleanup();
    const after = await clusterState();
    expect(after).toEqual(before);
  }, 10 * 60_000);
});
