// Real Istio on the real-cluster tier's node (test/cluster/setup.ts): real istioctl
// installs from istio/install/istio-config.yaml, istiod is the real pilot-discovery
// (image docker.io/istio/pilot:1.30.3, scripts/cluster/istio-images.sh) with its real
// CRDs, CA, injection and validation webhooks. Stood in: the proxy image (Envoy cannot
// exist here; scripts/cluster/istio/pilot-agent-standin.go), so the sidecars and the
// gateway start and pass their probes but intercept and route nothing.
// The file applies the project's manifests itself (as Tilt would, with kubectl), so it
// does not depend on the order of the tier's files, and removes all of it afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { kubectl, kubectlJson, type Kube } from '../support/cluster/kube';
import { installConfig, istioctl, istioctlOk, skippedAnalyzers, tiltAppliedFiles } from '../support/istioctl';
import { waitFor } from '../support/ports';
import { repoRoot } from '../support/tools';

const cluster = inject('cluster');
const kube: Kube = { kubeconfig: cluster.kubeconfig };
const ctl = (args: string[], timeoutMs = 120_000) => istioctl(['--context', cluster.context, ...args], { kubeconfig: cluster.kubeconfig, timeoutMs });
const pinned = '1.30.3';
/** A namespace of this file's own, for an injected pod that can run here (the pause image). */
const checkNamespace = 'meshloop-istio-check';
/** The project's manifests, in the order Tilt applies them (namespaces first). */
const projectFiles = ['k8s/namespace.yaml', 'observability/namespace.yaml', ...tiltAppliedFiles().filter((f) => !f.endsWith('namespace.yaml'))];
const figures: Record<string, number> = {};

interface Deployment {
  status: { readyReplicas?: number };
  spec: { template: { spec: { containers: { name: string; image: string }[] } } };
}
interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { initContainers?: { name: string; image: string; restartPolicy?: string }[]; containers: { name: string; image: string }[] };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface Webhooks {
  webhooks: { name: string; failurePolicy?: string; clientConfig: { caBundle?: string } }[];
}

afterAll(async () => {
  const quiet = (args: string[]) => kubectl(kube, args, 180_000).catch((error: unknown) => console.warn(String(error)));
  await quiet(['delete', 'namespace', checkNamespace, '--ignore-not-found', '--timeout=120s']);
  for (const file of [...projectFiles].reverse()) await quiet(['delete', '-f', file, '--ignore-not-found', '--timeout=120s']);
  const t0 = Date.now();
  const uninstall = ctl(['uninstall', '--purge', '-y'], 5 * 60_000);
  if (uninstall.status !== 0) console.warn(`istioctl uninstall --purge: ${uninstall.stderr}`);
  await quiet(['delete', 'namespace', 'istio-system', '--ignore-not-found', '--timeout=120s']);
  figures.uninstallMs = Date.now() - t0;
  console.log(`[istio] figures: ${JSON.stringify(figures)}`);
}, 15 * 60_000);

describe('Istio installed by real istioctl, istiod running for real', () => {
  test('istioctl install -y -f istio/install/istio-config.yaml completes against the real API server', () => {
    const t0 = Date.now();
    const run = ctl(['install', '-y', '-f', installConfig], 10 * 60_000);
    figures.installMs = Date.now() - t0;
    expect(run.stderr + run.stdout).toContain('Installation complete');
    expect(run.status, run.stderr).toBe(0);
  }, 11 * 60_000);

  test('istiod is ready, runs the real pilot-discovery 1.30.3, and istioctl sees it as the control plane', async () => {
    const istiod = await kubectlJson<Deployment>(kube, ['-n', 'istio-system', 'get', 'deployment', 'istiod']);
    expect(istiod.status.readyReplicas).toBe(1);
    expect(istiod.spec.template.spec.containers.map((c) => c.image)).toEqual([`docker.io/istio/pilot:${pinned}`]);
    const version = await kubectl(kube, ['-n', 'istio-system', 'exec', 'deployment/istiod', '--', '/usr/local/bin/pilot-discovery', 'version', '--short']);
    expect(version.trim()).toBe(`client version: ${pinned}`);
    const remote = istioctlOk(['--context', cluster.context, 'version'], { kubeconfig: cluster.kubeconfig, timeoutMs: 60_000 });
    expect(remote).toContain(`control plane version: ${pinned}`);
    // The gateway runs the proxyv2 stand-in and passes its readiness probe.
    const gateway = await kubectlJson<Deployment>(kube, ['-n', 'istio-system', 'get', 'deployment', 'istio-ingressgateway']);
    expect(gateway.status.readyReplicas).toBe(1);
  }, 120_000);

  test('istiod made its CA root ConfigMap in the namespaces and switched its validating webhook to fail closed', async () => {
    await waitFor('istio-ca-root-cert in default', () => kubectl(kube, ['-n', 'default', 'get', 'configmap', 'istio-ca-root-cert', '-o', 'name']).then((o) => o.trim() || undefined), 60_000, 1_000);
    const validator = await waitFor(
      'istiod to patch istio-validator-istio-system',
      async () => {
        const config = await kubectlJson<Webhooks>(kube, ['get', 'validatingwebhookconfiguration', 'istio-validator-istio-system']);
        return config.webhooks.every((w) => w.failurePolicy === 'Fail' && (w.clientConfig.caBundle ?? '') !== '') ? config : undefined;
      },
      60_000,
      1_000,
    );
    expect(validator.webhooks.length).toBeGreaterThan(0);
  }, 150_000);
});

describe("istiod's validating webhook checks the mesh objects", () => {
  const virtualService = (weight: number, timeout = '5s') =>
    JSON.stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'meshloop-webhook-check', namespace: 'istio-system' },
      spec: { hosts: ['check.example.internal'], http: [{ timeout, route: [{ destination: { host: 'check.example.internal' }, weight }] }] },
    });
  const dryRun = (object: string) => kubectl(kube, ['apply', '--dry-run=server', '-f', '-'], 60_000, object);

  test('rejects a VirtualService with a negative weight (the CRD schema lets it through; istiod does not)', async () => {
    await expect(dryRun(virtualService(-10))).rejects.toThrow(/admission webhook "validation\.istio\.io" denied the request.*weight -10 < 0/s);
    await expect(dryRun(virtualService(100))).resolves.toContain('virtualservice.networking.istio.io/meshloop-webhook-check created (server dry run)');
  });

  test('a malformed timeout is already refused by the API server (the CRD\'s CEL rule), before the webhook', async () => {
    await expect(dryRun(virtualService(100, '10x'))).rejects.toThrow(/must be a valid duration/);
  });

  test("every object of the project's manifests applies through the webhook (namespaces, services, mesh config, add-ons)", async () => {
    for (const file of projectFiles) {
      // --warnings-as-errors: a deprecation or webhook warning fails the apply too.
      const out = await kubectl(kube, ['apply', '--warnings-as-errors', '-f', file], 120_000);
      expect(out, file).toMatch(/ (created|configured|unchanged)\n$/);
    }
  }, 300_000);
});

describe('injection by the real istiod', () => {
  test("the project's Deployments get the sidecar in the meshloop namespace (istio-injection=enabled), as native sidecars on Kubernetes 1.34", async () => {
    for (const app of ['frontend', 'business-logic']) {
      const pod = await waitFor(
        `a ${app} pod`,
        async () => (await kubectlJson<{ items: Pod[] }>(kube, ['-n', 'meshloop', 'get', 'pods', '-l', `app=${app}`])).items[0],
        60_000,
        1_000,
      );
      const init = Object.fromEntries((pod.spec.initContainers ?? []).map((c) => [c.name, c]));
      expect(init['istio-init']?.image).toBe(`docker.io/istio/proxyv2:${pinned}`);
      expect(init['istio-proxy']).toMatchObject({ image: `docker.io/istio/proxyv2:${pinned}`, restartPolicy: 'Always' });
      expect(pod.metadata.annotations?.['sidecar.istio.io/status']).toContain('"revision":"default"');
    }
  }, 150_000);

  test('an injected pod that can run here (the node\'s pause image) starts and passes the sidecar stand-in\'s probes', async () => {
    await kubectl(kube, ['create', 'namespace', checkNamespace]);
    await kubectl(kube, ['label', 'namespace', checkNamespace, 'istio-injection=enabled']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'injected', namespace: checkNamespace, labels: { app: 'injected' } },
      spec: { containers: [{ name: 'app', image: 'meshloop.local/pause:1', imagePullPolicy: 'IfNotPresent' }] },
    };
    await kubectl(kube, ['apply', '-f', '-'], 60_000, JSON.stringify(pod));
    const t0 = Date.now();
    const ready = await waitFor(
      'the injected pod to be Ready',
      async () => {
        const p = await kubectlJson<Pod>(kube, ['-n', checkNamespace, 'get', 'pod', 'injected']);
        return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
      },
      120_000,
      1_000,
    );
    figures.injectedPodReadyMs = Date.now() - t0;
    expect((ready.spec.initContainers ?? []).map((c) => c.name)).toEqual(['istio-init', 'istio-proxy']);
    const logs = await kubectl(kube, ['-n', checkNamespace, 'logs', 'injected', '-c', 'istio-proxy']);
    expect(logs).toContain('[proxyv2 stand-in: no Envoy] proxy sidecar: status ports up');
  }, 180_000);
});

describe('istioctl analyze against the live API server', () => {
  // Warnings and errors only: analyze also prints an Info that the `default` namespace
  // (not the project's) has no istio-injection label.
  const analyze = () => ctl(['analyze', '--all-namespaces', '--output-threshold=Warning', '-v'], 180_000);

  test("runs every analyzer (none skipped, unlike file mode): the gateway's TLS Secret is missing until Tilt's tls-cert step", () => {
    const run = analyze();
    expect(skippedAnalyzers(run.stderr)).toEqual([]);
    // gateway.SecretAnalyzer is one that file mode skips.
    expect(run.stdout).toContain('Error [IST0101] (Gateway meshloop/meshloop-gateway) Referenced credentialName not found: "meshloop-tls"');
    expect(run.status).not.toBe(0);
  }, 200_000);

  test('finds no issue in the project as applied, once the tls-cert step made the Secret', () => {
    // What Tilt's `tls-cert` resource does before mesh-config: the gateway's Secret
    // (its local CA in a scratch folder here, not the developer's .cache/tls).
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'mesh', 'local-ca.sh'), '--context', cluster.context, '--dir', mkdtempSync(path.join(os.tmpdir(), 'meshloop-tls-'))], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig, PATH: `${cluster.binDir}${path.delimiter}${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    const run = analyze();
    expect(skippedAnalyzers(run.stderr)).toEqual([]);
    expect(run.stdout + run.stderr).toContain('No validation issues found');
    expect(run.status, run.stdout + run.stderr).toBe(0);
  }, 200_000);
});
