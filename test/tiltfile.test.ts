// The repo's Tiltfile evaluated by real Tilt (`tilt alpha tiltfile-result`),
// with a kubeconfig whose context is kind-meshloop but whose server is
// unreachable. What needs a running cluster (image builds, applies, pod
// readiness, the istio apply/delete commands, live update in a pod) cannot be
// evaluated here; everything Tilt decides from the Tiltfile alone is asserted.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './support/tools';
import { meshService, serviceNames } from './support/workspaces';
import {
  CLUSTER_TOOLS,
  fakeClusterTools,
  parseTiltfileResult,
  runTiltfileResult,
  tiltfileResult,
  type ClusterTool,
  type FakeTools,
  type Resource,
  type TiltfileResult,
} from './support/tilt';

// Every mesh service of the workspaces (a generated one too, in the generator's end-to-end test).
const SERVICES = serviceNames();
const LABELS = ['cluster', 'data', 'mesh', 'observability', 'services', 'tests', 'traffic'];
const OBSERVABILITY_FORWARDS: Record<string, string> = {
  jaeger: '16686:16686',
  prometheus: '9090:9090',
  grafana: '3000:3000',
  kiali: '20001:20001',
};
const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
/** The service's local inspector port, from its package.json "meshloop" block (what the Tiltfile reads). */
const debugPort = (name: string) => (JSON.parse(read(`services/${name}/package.json`)) as { meshloop: { debugPort: number } }).meshloop.debugPort;

/** Every npm workspace folder of the root package.json (each gets a <name>-tests resource). */
const WORKSPACES = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;

/**
 * The unit-test resources (test/Tiltfile), the same in both modes: one per
 * workspace, label `tests`, its own `npm test` on a change of its files,
 * never a dependency of anything.
 */
function unitTestResourceChecks(mode: string, result: () => TiltfileResult) {
  describe(`unit-test resources, ${mode}`, () => {
    it.each(WORKSPACES)('%s gets a <name>-tests resource that runs only its unit tests, at start and on every change of its files, in parallel with the rest', (folder) => {
      const name = path.basename(folder);
      const r = result().resource(`${name}-tests`);
      expect(r.kind).toBe('local_resource');
      expect(r.labels).toEqual(['tests']);
      const pkg = JSON.parse(read(`${folder}/package.json`)) as { name: string; scripts: Record<string, string> };
      // At a lower CPU priority: the services' reloads come first.
      expect(r.updateCmd).toEqual(['sh', '-c', `nice -n 10 npm run --silent test -w ${pkg.name}`]);
      // Only this workspace's test folder, with the root config (its resolve conditions) and project main.
      expect(pkg.scripts.test).toBe(`vitest run --root ../.. --project main ${folder}/test`);
      const shared = name === 'service-runtime' ? [] : ['services/service-runtime/src'];
      expect(r.deps?.sort()).toEqual([`${folder}/src`, `${folder}/test`, ...shared].sort());
      for (const dep of r.deps ?? []) expect(existsSync(path.join(repoRoot, dep)), dep).toBe(true);
      expect(r.trigger).toEqual({ onChange: true, atStart: true });
      expect(r.allowParallel).toBe(true);
      expect(r.resourceDeps).toEqual([]);
    });

    it('never blocks anything: no resource depends on a test resource', () => {
      const tests = result().resources.filter((r) => r.labels.includes('tests')).map((r) => r.name);
      expect(tests.sort()).toEqual(WORKSPACES.map((f) => `${path.basename(f)}-tests`).sort());
      for (const r of result().resources) {
        for (const dep of r.resourceDeps) expect(tests, `${r.name} depends on ${dep}`).not.toContain(dep);
      }
      expect(result().enabled).toEqual(expect.arrayContaining(tests));
    });
  });
}

/** kind/name/namespace of every object in a YAML stream. */
function objectIds(yamlText: string): string[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null)
    .filter((o): o is { kind: string; metadata: { name: string; namespace?: string } } => !!o?.kind)
    .map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.namespace ?? ''}`)
    .sort();
}


const POD_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);

/**
 * Kinds of the objects a resource deploys: its YAML for k8s_yaml resources;
 * for a k8s_custom_deploy, the files its apply command applies with -f and
 * the kind/name objects it prints with `kubectl get`.
 */
function deployedKinds(r: Resource): string[] {
  if (r.kind === 'k8s') return objectIds(r.yaml).map((id) => id.split('/')[0]!);
  const command = (r.applyCmd ?? []).join(' ');
  const kinds: string[] = [];
  for (const match of command.matchAll(/(?:^|\s)-f\s+(\S+\.ya?ml)/g)) {
    const file = path.isAbsolute(match[1]!) ? match[1]! : path.join(r.applyDir ?? repoRoot, match[1]!);
    kinds.push(...objectIds(readFileSync(file, 'utf8')).map((id) => id.split('/')[0]!));
  }
  for (const match of command.matchAll(/\bget\s+((?:[a-z]+\/[\w.-]+\s*)+)/g)) {
    for (const ref of match[1]!.trim().split(/\s+/)) kinds.push(ref.split('/')[0]!.replace(/^./, (c) => c.toUpperCase()));
  }
  return kinds;
}


describe('Tiltfile, cluster mode (tilt alpha tiltfile-result)', () => {
  let result: TiltfileResult;
  beforeAll(async () => {
    result = await tiltfileResult();
  });

  unitTestResourceChecks('cluster mode', () => result);

  it('defines the shared resource names and nothing lands in "uncategorized"', () => {
    const names = result.resources.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(['cluster', 'istio', 'namespace', 'tls-cert', 'mesh-config', 'frontend', 'business-logic', 'business-logic-v2', 'jaeger', 'prometheus', 'loki', 'grafana', 'kiali']),
    );
    expect(names).not.toContain('uncategorized');
    expect(result.enabled.sort()).toEqual([...names].sort());
  });

  // Tilt cannot see what a k8s_custom_deploy creates and waits for its pods by
  // default: a resource without pods then never turns ready and everything
  // after it waits forever (the namespaces once did exactly that).
  it('waits for pods exactly where a resource deploys pods: every Kubernetes resource, pod readiness matches what it applies', () => {
    const k8sResources = result.resources.filter((r) => r.kind !== 'local_resource');
    expect(k8sResources.length).toBeGreaterThan(10);
    for (const r of k8sResources) {
      const kinds = deployedKinds(r);
      expect(kinds.length, `${r.name}: what it deploys could not be read from the Tiltfile`).toBeGreaterThan(0);
      const expected = kinds.some((kind) => POD_KINDS.has(kind)) ? 'wait' : 'ignore';
      expect(`${r.name}: ${r.podReadiness}`, `${r.name} deploys ${kinds.join(', ')}`).toBe(`${r.name}: ${expected}`);
    }
  });

  it('gives every resource exactly one of the shared labels', () => {
    for (const r of result.resources) {
      expect(r.labels, r.name).toHaveLength(1);
      expect(LABELS, r.name).toContain(r.labels[0]);
    }
    expect(result.resource('cluster').labels).toEqual(['cluster']);
    for (const name of ['istio', 'namespace', 'mesh-config']) expect(result.resource(name).labels).toEqual(['mesh']);
    for (const name of SERVICES) expect(result.resource(name).labels).toEqual(['services']);
  });

  it('ensures the cluster with an idempotent `ctlptl apply -f ctlptl.yaml` first; everything in the cluster waits for it', () => {
    const cluster = result.resource('cluster');
    expect(cluster.kind).toBe('local_resource');
    expect(cluster.updateCmd).toEqual(['sh', '-c', 'ctlptl apply -f ctlptl.yaml']);
    expect(existsSync(path.join(repoRoot, 'ctlptl.yaml'))).toBe(true);
    expect(result.resource('istio').resourceDeps).toEqual(['cluster']);
    expect(result.resource('namespace').resourceDeps).toEqual(['cluster']);
  });

  it('installs Istio with istioctl from istio/install, prints the applied YAML, and removes all of Istio on tilt down', () => {
    const istio = result.resource('istio');
    expect(istio.kind).toBe('k8s_custom_deploy');
    expect(istio.applyDir).toBe(repoRoot);
    const [shell, flag, script] = istio.applyCmd ?? [];
    expect([shell, flag]).toEqual(['sh', '-c']);
    const lines = (script ?? '').split('\n');
    expect(lines[0]).toBe('set -eu');
    // istioctl's progress must not reach stdout, which Tilt parses as YAML.
    expect(lines).toContain('istioctl install -y -f istio/install/istio-config.yaml >&2');
    expect(existsSync(path.join(repoRoot, 'istio/install/istio-config.yaml'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^kubectl -n istio-system get .*deployment\/istiod .*deployment\/istio-ingressgateway .*-o yaml$/);
    expect(istio.deleteCmd).toEqual(['sh', '-c', 'istioctl uninstall --purge -y && kubectl delete namespace istio-system --ignore-not-found --timeout=100s']);
  });

  it('creates the injected app namespace as its own resource that tilt down deletes', () => {
    const ns = result.resource('namespace');
    expect(ns.kind).toBe('k8s_custom_deploy');
    expect(ns.applyCmd).toEqual(['sh', '-c', 'kubectl apply -f k8s/namespace.yaml -o yaml']);
    expect(ns.deleteCmd).toEqual(['sh', '-c', 'kubectl delete -f k8s/namespace.yaml --ignore-not-found --timeout=100s']);
    expect(read('k8s/namespace.yaml')).toMatch(/istio-injection: enabled/);
  });

  it('groups every Istio custom resource of istio/mesh into mesh-config, applied after istio and the namespace', () => {
    const mesh = result.resource('mesh-config');
    expect(mesh.kind).toBe('k8s');
    expect(mesh.resourceDeps.sort()).toEqual(['istio', 'namespace', 'tls-cert']);
    const files = readdirSync(path.join(repoRoot, 'istio', 'mesh'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `istio/mesh/${f}`);
    const shared = ['gateway', 'frontend-routes', 'business-logic-routes', 'peer-authentication', 'authorization', 'network-policy', 'telemetry'];
    expect(files).toEqual(expect.arrayContaining(shared.map((f) => `istio/mesh/${f}.yaml`)));
    const expected = files.flatMap((f) => objectIds(read(f))).sort();
    expect(expected.length).toBeGreaterThanOrEqual(6);
    expect(objectIds(mesh.yaml)).toEqual(expected);
  });

  describe.each(SERVICES)('service %s', (name) => {
    it('builds its image from services/Dockerfile (target dev, SERVICE build arg) with a narrow context', () => {
      const service = result.resource(name);
      expect(service.images).toHaveLength(1);
      const image = service.images[0]!;
      expect(image.ref).toBe(name);
      expect(image.dockerfileContents).toBe(read('services/Dockerfile'));
      expect(image.context).toBe('.');
      expect(image.target).toBe('dev');
      expect(image.buildArgs).toEqual({ SERVICE: name });
      const others = SERVICES.filter((s) => s !== name).map((s) => `services/${s}/package.json`);
      expect(image.only.sort()).toEqual(
        ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', 'services/service-runtime', `services/${name}`, ...others].sort(),
      );
      for (const p of image.only) expect(existsSync(path.join(repoRoot, p)), `only= path ${p} exists`).toBe(true);
    });

    it('live-updates: fall_back_on first (a lockfile change rebuilds: pods cannot reach the registry under REGISTRY_ONLY), then syncs only source folders', () => {
      const { liveUpdate } = result.resource(name).images[0]!;
      expect(liveUpdate.fallBackOn.sort()).toEqual(
        [
          'package.json',
          'package-lock.json',
          '.npmrc',
          'tsconfig.json',
          `services/${name}/package.json`,
          `services/${name}/tsconfig.json`,
          'services/service-runtime/package.json',
          'services/service-runtime/tsconfig.json',
        ].sort(),
      );
      for (const p of liveUpdate.fallBackOn) expect(existsSync(path.join(repoRoot, p)), `fall_back_on path ${p} exists`).toBe(true);
      expect(liveUpdate.syncs).toEqual([
        { local: `services/${name}/src`, remote: `/app/services/${name}/src` },
        { local: 'services/service-runtime/src', remote: '/app/services/service-runtime/src' },
      ]);
      // Never host node_modules (esbuild's binary is per platform).
      for (const sync of liveUpdate.syncs) expect(sync.local).not.toMatch(/node_modules/);
      // tsx watch restarts on the synced files itself: no run step needed.
      expect(liveUpdate.runs).toEqual([]);
    });

    it('deploys k8s/<name>.yaml (ServiceAccount, Service, Deployment) after the mesh, forwarding only the debugger', () => {
      const service = result.resource(name);
      expect(service.kind).toBe('k8s');
      expect(objectIds(service.yaml)).toEqual(objectIds(read(`k8s/${name}.yaml`)));
      expect(objectIds(service.yaml)).toEqual([`Deployment/${name}/meshloop`, `Service/${name}/meshloop`, `ServiceAccount/${name}/meshloop`]);
      // business-logic also waits for its database (data/Tiltfile, docs/data.md).
      expect(service.resourceDeps.sort()).toEqual(['istio', 'mesh-config', 'namespace', ...(name === 'business-logic' ? ['postgres'] : [])]);
      // Traffic goes through the gateway; a forward to the app port would bypass the
      // sidecar. The one forward reaches the inspector on the pod's loopback:
      // local debugPort (package.json "meshloop") -> 9229 (the dev target's --inspect).
      expect(service.portForwards).toEqual([{ local: debugPort(name), container: 9229, name: 'debugger', path: 'json/list' }]);
      expect(read('services/Dockerfile')).toContain('"--inspect=127.0.0.1:9229"');
      expect(service.links).toContainEqual({ url: `http://localhost:16686/search?service=${name}`, name: `Jaeger: ${name} traces` });
    });
  });

  it('links the app through the Istio gateway on http://localhost:8080', () => {
    expect(result.resource('frontend').links[0]).toEqual({ url: 'http://localhost:8080/', name: 'app (via Istio gateway)' });
  });

  it('writes every port forward as LOCAL:CONTAINER, with the add-ons on their layout ports', () => {
    for (const r of result.resources) {
      for (const f of r.portForwards) expect(f.container, `${r.name} forward ${f.local} names its container port`).toBeGreaterThan(0);
    }
    for (const [name, forward] of Object.entries(OBSERVABILITY_FORWARDS)) {
      expect(result.resource(name).portForwards.map((f) => `${f.local}:${f.container}`)).toContain(forward);
    }
  });

  it('allows slow applies (istioctl, tilt down deletes) and sets CI timeouts', () => {
    expect(result.resource('frontend').timeout).toBe('5m0s');
    expect(result.resource('istio').timeout).toBe('5m0s');
    expect(result.ciSettings).toEqual({ timeout: '30m0s', readinessTimeout: '10m0s' });
  });

  it.each([
    ['slow-traffic', 'Slow traffic', 'slow'],
    ['fast-traffic', 'Fast traffic', 'fast'],
  ])('puts the %s button in the nav bar; its Cmd runs the traffic generator against the gateway', (name, text, profile) => {
    const button = result.button(name);
    expect(button.text).toBe(text);
    expect(button.location).toEqual({ componentID: 'nav', componentType: 'Global' });
    expect(button.inputs.map((i) => i.name)).toEqual(['RATE', 'DURATION']);
    expect(button.inputs.map((i) => i.defaultValue)).toEqual(['5', '30']);
    for (const input of button.inputs) expect(input.label).not.toBe('');

    const cmd = result.cmd(name);
    expect(cmd.startOnButtons).toEqual([name]);
    expect(cmd.dir).toBe(repoRoot);
    expect(cmd.args).toEqual([
      'sh',
      '-c',
      `npm run --silent traffic -- --profile ${profile} --rate "$RATE" --duration "$DURATION" --target http://localhost:8080`,
    ]);
    // Its output goes to the Tiltfile log in the UI.
    expect(cmd.annotations['tilt.dev/resource']).toBe('(Tiltfile)');
  });

  it('adds the mesh buttons (canary weight, faults, reset) to the nav bar, and the v2 canary and TLS certificate resources', () => {
    for (const name of ['canary-weight', 'faults', 'reset-mesh']) {
      expect(result.button(name).location).toEqual({ componentID: 'nav', componentType: 'Global' });
      expect(result.cmd(name).startOnButtons).toEqual([name]);
    }
    expect(result.button('canary-weight').inputs.map((i) => i.name)).toEqual(['WEIGHT']);
    expect(result.resource('tls-cert').kind).toBe('local_resource');
    expect(result.resource('business-logic-v2').resourceDeps.sort()).toEqual(['istio', 'mesh-config', 'namespace', 'postgres']);
  });

  it('names the traffic script the buttons run in package.json', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.traffic).toBe('tsx scripts/traffic.ts');
  });
});

/** name=value of every container env entry of the Deployments a resource applies. */
function deploymentEnv(r: Resource): Record<string, string> {
  const env: Record<string, string> = {};
  for (const doc of parseAllDocuments(r.yaml)) {
    const o = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } } } | null;
    if (o?.kind !== 'Deployment') continue;
    for (const c of o.spec?.template?.spec?.containers ?? []) for (const e of c.env ?? []) env[e.name] = e.value ?? '';
  }
  return env;
}

/** cpu/memory requests of the first container of the Deployments a resource applies. */
function deploymentRequests(r: Resource): unknown {
  const deployment = parseAllDocuments(r.yaml)
    .map((d) => d.toJS() as { kind?: string; spec: { template: { spec: { containers: Array<{ resources: { requests: unknown } }> } } } })
    .find((o) => o?.kind === 'Deployment');
  return deployment?.spec.template.spec.containers[0]?.resources.requests;
}

const ADDONS = ['jaeger', 'prometheus', 'loki', 'grafana', 'kiali'];
const ZIPKIN = 'OTEL_EXPORTER_ZIPKIN_ENDPOINT';
const OTLP_LOGS = 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT';

describe('Tiltfile profiles (-- --profile=full | lite, from profiles.yaml)', () => {
  let full: TiltfileResult;
  let lite: TiltfileResult;
  beforeAll(async () => {
    [full, lite] = await Promise.all([tiltfileResult(), tiltfileResult({ args: ['--profile=lite'] })]);
  });

  it('full (the default) deploys every add-on and the v2 canary, with its weight button', async () => {
    const explicit = await tiltfileResult({ args: ['--profile', 'full'] });
    for (const result of [full, explicit]) {
      const names = result.resources.map((r) => r.name);
      expect(names).toEqual(expect.arrayContaining([...ADDONS, 'business-logic-v2']));
      expect(result.buttons.map((b) => b.name)).toContain('canary-weight');
    }
    expect(full.resources.map((r) => r.name).filter((n) => n.startsWith('profile-'))).toEqual([]);
  });

  it('lite deploys the mesh, the services, Jaeger and Prometheus; no Loki, Grafana, Kiali, v2 canary or canary button', () => {
    const names = lite.resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['cluster', 'istio', 'namespace', 'tls-cert', 'mesh-config', 'frontend', 'business-logic', 'jaeger', 'prometheus']));
    for (const gone of ['loki', 'grafana', 'kiali', 'business-logic-v2']) expect(names).not.toContain(gone);
    expect(lite.buttons.map((b) => b.name).sort()).toEqual(['fast-traffic', 'faults', 'reset-mesh', 'slow-traffic']);
    expect(lite.enabled.sort()).toEqual([...names].sort());
  });

  it('lite says in the Tilt UI what is missing and how to get it', () => {
    const notice = lite.resource('profile-lite');
    expect(notice.labels).toEqual(['observability']);
    const text = (notice.updateCmd ?? []).join(' ');
    for (const missing of ['loki', 'grafana', 'kiali', 'business-logic-v2']) expect(text).toContain(missing);
    expect(text).toContain('tilt up -- --profile=full');
  });

  it('lite applies its smaller requests (profiles.yaml) to istiod, Jaeger and Prometheus; full keeps the manifests\' own', () => {
    const profiles = parseAllDocuments(read('profiles.yaml'))[0]!.toJS() as { lite: { requests: Record<string, { cpu: string; memory: string }> } };
    const { istiod, jaeger, prometheus } = profiles.lite.requests;
    expect(deploymentRequests(lite.resource('jaeger'))).toEqual(jaeger);
    expect(deploymentRequests(lite.resource('prometheus'))).toEqual(prometheus);
    const install = (r: TiltfileResult) => (r.resource('istio').applyCmd ?? []).join(' ');
    expect(install(lite)).toContain(`istioctl install -y -f istio/install/istio-config.yaml --set components.pilot.k8s.resources.requests.cpu=${istiod!.cpu} --set components.pilot.k8s.resources.requests.memory=${istiod!.memory} >&2`);
    expect(deploymentRequests(full.resource('jaeger'))).toEqual({ cpu: '50m', memory: '128Mi' });
  });

  it('the services export spans and logs to exactly the add-ons deployed: full both, lite Zipkin only', () => {
    for (const name of SERVICES) {
      const fullEnv = deploymentEnv(full.resource(name));
      expect(fullEnv[ZIPKIN]).toBe('http://jaeger.observability.svc.cluster.local:9411/api/v2/spans');
      expect(fullEnv[OTLP_LOGS]).toBe('http://loki.observability.svc.cluster.local:3100/otlp/v1/logs');
      const liteEnv = deploymentEnv(lite.resource(name));
      expect(liteEnv[ZIPKIN]).toBe(fullEnv[ZIPKIN]);
      expect(liteEnv).not.toHaveProperty(OTLP_LOGS);
    }
    expect(deploymentEnv(full.resource('business-logic-v2'))).toHaveProperty(OTLP_LOGS);
  });

  it('with only the services named (tilt up -- frontend business-logic), no endpoint is set and no Jaeger link is shown', async () => {
    const result = await tiltfileResult({ args: ['frontend', 'business-logic'] });
    for (const name of SERVICES) {
      const env = deploymentEnv(result.resource(name));
      expect(env).not.toHaveProperty(ZIPKIN);
      expect(env).not.toHaveProperty(OTLP_LOGS);
      expect(env.PORT, 'other variables stay').toBeDefined();
      expect(result.resource(name).links.map((l) => l.url).filter((u) => u.includes('16686'))).toEqual([]);
    }
  });

  it('refuses an unknown profile, naming the ones there are', async () => {
    const run = await runTiltfileResult({ args: ['--profile=tiny'] });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('unknown --profile "tiny": use one of full, lite (profiles.yaml)');
  });
});

describe('Tiltfile guards', () => {
  it('refuses a kube context other than kind-meshloop, naming both and the way out', async () => {
    const run = await runTiltfileResult({ context: 'prod-cluster' });
    expect(run.code).toBe(5); // a Tiltfile error, per `tilt alpha tiltfile-result --help`
    expect(run.stderr).toContain('Tilt is connected to kube context "prod-cluster", but this project runs in "kind-meshloop"');
    expect(run.stderr).toContain('--allow-any-context');
  });

  it('deploys to another context with -- --allow-any-context, and then does not create a kind cluster', async () => {
    const result = await tiltfileResult({ context: 'prod-cluster', args: ['--allow-any-context'] });
    const names = result.resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['istio', 'namespace', 'mesh-config', 'frontend', 'business-logic']));
    expect(names).not.toContain('cluster');
    expect(result.resource('istio').resourceDeps).toEqual([]);
  });

  it('starts only the resources named on the command line, with what they depend on', async () => {
    const result = await tiltfileResult({ args: ['frontend'] });
    expect(result.enabled.sort()).toEqual(['cluster', 'frontend', 'istio', 'mesh-config', 'namespace', 'tls-cert']);
  });
});

describe('Tiltfile prerequisite checks (stand-in tools on a PATH of their own)', () => {
  const fakes: FakeTools[] = [];
  const tools = (present?: readonly ClusterTool[]) => {
    const fake = fakeClusterTools(present);
    fakes.push(fake);
    return fake;
  };
  afterAll(() => fakes.forEach((f) => f.dispose()));

  it('names every missing tool with how to install it, and points to local mode', async () => {
    const run = await runTiltfileResult({ skipPrereqs: false, env: { PATH: tools([]).path } });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('meshloop needs these tools on PATH, missing: docker, kind, ctlptl, kubectl, istioctl');
    for (const tool of CLUSTER_TOOLS) expect(run.stderr).toMatch(new RegExp(`- ${tool}: .*https://`));
    expect(run.stderr).toContain('tilt up -- --local');
  });

  it('names only what is missing', async () => {
    const run = await runTiltfileResult({ skipPrereqs: false, env: { PATH: tools(['docker', 'kind', 'ctlptl', 'kubectl']).path } });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('missing: istioctl\n');
    expect(run.stderr).toContain('istioctl 1.30.3');
  });

  it('passes with every tool present, and evaluating the Tiltfile never creates the cluster', async () => {
    const fake = tools();
    const run = await runTiltfileResult({ skipPrereqs: false, env: { PATH: fake.path } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Only the pinned-version check ran: `ctlptl apply` is for `tilt up` / `tilt ci` only.
    expect(fake.calls()).toEqual(['istioctl version --remote=false']);
  });

  it('warns when istioctl is not the pinned 1.30', async () => {
    const fake = fakeClusterTools(CLUSTER_TOOLS, { istioctl: 'echo 1.29.0' });
    fakes.push(fake);
    const run = await runTiltfileResult({ skipPrereqs: false, verbose: true, env: { PATH: fake.path } });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('istioctl reports "1.29.0"; this project pins Istio 1.30.3');
    expect(parseTiltfileResult(run.stdout).resources.map((r) => r.name)).toContain('istio');
  });
});

describe('Tiltfile, local mode (-- --local)', () => {
  const env = {
    MESHLOOP_FRONTEND_PORT: '18080',
    MESHLOOP_FRONTEND_METRICS_PORT: '19464',
    MESHLOOP_BUSINESS_LOGIC_PORT: '18081',
    MESHLOOP_BUSINESS_LOGIC_METRICS_PORT: '19465',
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://127.0.0.1:9411/api/v2/spans',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: undefined,
  };
  let result: TiltfileResult;
  beforeAll(async () => {
    // No prerequisite bypass and a PATH with nothing but `sh`: local mode needs
    // no cluster tool at all.
    const onlySh = mkdtempSync(path.join(os.tmpdir(), 'meshloop-only-sh-'));
    symlinkSync('/bin/sh', path.join(onlySh, 'sh'));
    try {
      result = await tiltfileResult({ args: ['--local'], skipPrereqs: false, env: { ...env, PATH: onlySh } });
    } finally {
      rmSync(onlySh, { recursive: true, force: true });
    }
  });

  unitTestResourceChecks('local mode', () => result);

  it('has only the mesh services of the workspaces and their unit tests as local processes: no images, no Kubernetes objects, no cluster', () => {
    const services = result.resources.filter((r) => !r.labels.includes('tests'));
    expect(services.map((r) => r.name).sort()).toEqual([...SERVICES].sort());
    expect(result.resources).toHaveLength(SERVICES.length + WORKSPACES.length);
    for (const r of result.resources) {
      expect(r.kind).toBe('local_resource');
      expect(r.images).toEqual([]);
      expect(r.yaml).toBe('');
    }
    for (const r of services) expect(r.labels).toEqual(['services']);
  });

  /** The local port of a service: its MESHLOOP_<NAME>_PORT above, else its package.json "meshloop" block. */
  const localPorts = (name: string): [number, number] => {
    const prefix = `MESHLOOP_${name.toUpperCase().replace(/-/g, '_')}_`;
    const meta = meshService(name);
    const fromEnv = (suffix: string) => (env as Record<string, string | undefined>)[prefix + suffix];
    return [Number(fromEnv('PORT') ?? meta.port), Number(fromEnv('METRICS_PORT') ?? meta.metricsPort)];
  };

  it.each(SERVICES.map((name) => [name, ...localPorts(name)] as const))('serves %s with its dev script on the configured ports, ready when /readyz answers', (name, port, metricsPort) => {
    const r = result.resource(name);
    expect(r.serveCmd).toEqual(['sh', '-c', `npm run dev -w @meshloop/${name}`]);
    expect(r.serveDir).toBe(repoRoot);
    expect(r.serveEnv).toMatchObject({ PORT: String(port), METRICS_PORT: String(metricsPort) });
    expect(r.readinessHttpGet).toEqual({ port, path: '/readyz' });
    expect(r.links.map((l) => l.url)).toEqual([`http://localhost:${port}/`, `http://localhost:${metricsPort}/metrics`, `http://localhost:${debugPort(name)}/json/list`]);
    const pkg = JSON.parse(read(`services/${name}/package.json`)) as { name: string; scripts: Record<string, string> };
    expect(pkg.name).toBe(`@meshloop/${name}`);
    expect(pkg.scripts.dev).toMatch(/^tsx watch /);
  });

  it.each(SERVICES)('gives %s its debugPort from package.json as DEBUG_PORT, which its dev script hands to --inspect on 127.0.0.1', (name) => {
    const r = result.resource(name);
    expect(r.serveEnv?.DEBUG_PORT).toBe(String(debugPort(name)));
    expect(r.links).toContainEqual({ url: `http://localhost:${debugPort(name)}/json/list`, name: 'debugger' });
    const pkg = JSON.parse(read(`services/${name}/package.json`)) as { scripts: Record<string, string> };
    // Without DEBUG_PORT (plain `npm run dev`) the default is the same debugPort.
    expect(pkg.scripts.dev).toContain(`--inspect=127.0.0.1:\${DEBUG_PORT:-${debugPort(name)}} `);
  });

  it('moves a debug port with MESHLOOP_<SVC>_DEBUG_PORT and rejects one that is not a port', async () => {
    const moved = parseTiltfileResult((await runTiltfileResult({ args: ['--local'], env: { MESHLOOP_BUSINESS_LOGIC_DEBUG_PORT: '19230' } })).stdout);
    expect(moved.resource('business-logic').serveEnv?.DEBUG_PORT).toBe('19230');
    expect(moved.resource('business-logic').links).toContainEqual({ url: 'http://localhost:19230/json/list', name: 'debugger' });
    expect(moved.resource('frontend').serveEnv?.DEBUG_PORT).toBe(String(debugPort('frontend')));
    const run = await runTiltfileResult({ args: ['--local'], env: { MESHLOOP_FRONTEND_DEBUG_PORT: 'x' } });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('MESHLOOP_FRONTEND_DEBUG_PORT must be a TCP port number (1-65535), got "x"');
  });

  it('points the frontend at the local business-logic and starts it after', () => {
    const frontend = result.resource('frontend');
    expect(frontend.serveEnv?.BUSINESS_LOGIC_URL).toBe('http://localhost:18081');
    expect(frontend.resourceDeps).toContain('business-logic');
  });

  it.each(SERVICES)('starts %s after the services it calls and passes it their local URLs (its "meshloop" calls)', (name) => {
    const { calls } = meshService(name);
    expect(result.resource(name).resourceDeps).toEqual(calls);
    for (const callee of calls) {
      const variable = `${callee.toUpperCase().replace(/-/g, '_')}_URL`;
      expect(result.resource(name).serveEnv?.[variable]).toBe(`http://localhost:${localPorts(callee)[0]}`);
    }
  });

  it('passes telemetry endpoints on only when they are set', () => {
    for (const name of SERVICES) {
      expect(result.resource(name).serveEnv?.OTEL_EXPORTER_ZIPKIN_ENDPOINT).toBe('http://127.0.0.1:9411/api/v2/spans');
      expect(result.resource(name).serveEnv).not.toHaveProperty('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
    }
  });

  it('aims the same traffic buttons at the local frontend', () => {
    expect(result.buttons.map((b) => b.name).sort()).toEqual(['fast-traffic', 'slow-traffic']);
    for (const cmd of result.cmds) expect(cmd.args[2]).toMatch(/ --target http:\/\/localhost:18080$/);
  });

  it('rejects a port variable that is not a port', async () => {
    const run = await runTiltfileResult({ args: ['--local'], env: { MESHLOOP_FRONTEND_PORT: '80a' } });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(`MESHLOOP_FRONTEND_PORT must be a TCP port number (1-65535), got "80a"`);
  });
});
