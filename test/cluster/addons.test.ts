// The observability add-ons on the real-cluster tier's node, deployed by real Tilt
// from the real cluster-mode Tiltfile: Jaeger (built from tools/jaeger) and
// Prometheus 3 (built from tools/prometheus) as the images scripts/cluster/addon-images.sh
// builds and test/cluster/setup.ts loads into the node, run with their manifests
// and configs unchanged. Prometheus finds the service pods through its real
// kubernetes_sd config (in-cluster API access with its ServiceAccount and RBAC),
// and the exemplars it stores point at traces Jaeger really has.
// Not run here (no image can exist): Loki (its Go module is AGPL-3.0), Grafana
// (AGPL-3.0 as well) and Kiali (the Go module proxy here serves neither module).
// The add-ons are reached on their pod IPs, inside the node's network the tier created.
// Tilt runs the lite profile (`-- --profile=lite`: the mesh, the services, Jaeger and
// Prometheus), which is exactly what can run here; so the lite profile is the one
// proven on a real node, with its smaller requests and its telemetry endpoints.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addonPodSpec, buildableAddons } from '../support/addon-images';
import { readProfiles } from '../../scripts/bench/footprint';
import { kubectl, kubectlJson, podsOf, type Kube } from '../support/cluster/kube';
import { clusterTiltEnv, type ClusterTiltEnv } from '../support/cluster/tilt-env';
import { jaegerTrace, queryExemplars } from '../support/observability';
import { freePort, waitFor } from '../support/ports';
import { missingWebAssetsHint, runTilt, tiltfileResult } from '../support/tilt';

const cluster = inject('cluster');
const kube: Kube = { kubeconfig: cluster.kubeconfig };

/** Resources the lite profile leaves out; their images cannot be built here either. */
const LEFT_OUT = ['loki', 'grafana', 'kiali'];
const LITE = ['--profile=lite'];

interface Pod {
  metadata: { name: string; namespace: string };
  spec: { containers: Array<{ name: string; image: string }> };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: Array<{ name: string; image: string; imageID: string; ready: boolean; restartCount: number }>;
  };
}

async function addonPod(app: string): Promise<Pod> {
  const pods = await kubectlJson<{ items: Pod[] }>(kube, ['-n', 'observability', 'get', 'pods', '-l', `app=${app}`]);
  const running = pods.items.filter((p) => p.status.phase === 'Running');
  expect(running.length, `one running ${app} pod`).toBe(1);
  return running[0]!;
}

describe('observability add-ons built here, run by real Tilt on the real node', () => {
  let tilt: ClusterTiltEnv;
  let selected: string[] = [];
  let prometheusUrl = '';
  let jaegerUrl = '';

  beforeAll(async () => {
    const full = (await tiltfileResult()).resources.map((r) => r.name);
    for (const name of LEFT_OUT) expect(full, `the full profile still defines ${name}`).toContain(name);
    selected = (await tiltfileResult({ args: LITE })).resources.map((r) => r.name).filter((n) => n !== '(Tiltfile)');
    for (const name of LEFT_OUT) expect(selected, `the lite profile leaves ${name} out`).not.toContain(name);
    for (const addon of buildableAddons) expect(selected).toContain(addon);
    // tilt ci also waits for each workspace's unit-test resource: they run in cluster mode too.
    expect(selected).toEqual(expect.arrayContaining(['service-runtime-tests', 'business-logic-tests', 'frontend-tests']));
    const port = await freePort();
    tilt = clusterTiltEnv({ adminKubeconfig: cluster.kubeconfig, binDir: cluster.binDir, dockerEnv: cluster.dockerEnv, tiltPort: port });
    const t0 = Date.now();
    const ci = await runTilt(['ci', '--port', String(port), '--', ...LITE], tilt.env, 25 * 60_000);
    console.log(`[addons] tilt ci took ${Date.now() - t0} ms`);
    const output = ci.stdout + ci.stderr;
    expect(ci.code, `tilt ci failed${missingWebAssetsHint(output)}\n${output.slice(-6000)}`).toBe(0);
    prometheusUrl = `http://${(await addonPod('prometheus')).status.podIP}:${addonPodSpec('prometheus').ports.get('http-web')}`;
    jaegerUrl = `http://${(await addonPod('jaeger')).status.podIP}:${addonPodSpec('jaeger').ports.get('http-query')}`;
  }, 30 * 60_000);

  afterAll(async () => {
    if (!tilt) return;
    const t0 = Date.now();
    const down = await runTilt(['down', '--', ...LITE], tilt.env, 10 * 60_000);
    console.log(`[addons] tilt down took ${Date.now() - t0} ms`);
    rmSync(tilt.home, { recursive: true, force: true });
    // The tier's other files start from an empty node: a failed tilt down fails this file.
    expect(down.code, `tilt down failed: ${down.stdout}${down.stderr}`).toBe(0);
  }, 11 * 60_000);

  it.each(buildableAddons)('the %s pod runs the image built here, tagged as its manifest names it, ready and never restarted', async (addon) => {
    const pod = await addonPod(addon);
    const spec = addonPodSpec(addon);
    const status = pod.status.containerStatuses?.[0];
    expect(cluster.images).toContain(spec.image);
    expect(pod.spec.containers[0]?.image).toBe(spec.image);
    // The same image (config digest) as the one scripts/cluster/addon-images.sh built in Docker.
    const built = execFileSync(cluster.dockerEnv.DOCKER ?? '/usr/bin/docker', ['image', 'inspect', '--format', '{{.Id}}', spec.image], {
      env: { ...process.env, ...cluster.dockerEnv },
      encoding: 'utf8',
    }).trim();
    expect(status?.imageID).toBe(built);
    expect(status?.ready).toBe(true);
    expect(status?.restartCount).toBe(0);
  });

  it('Prometheus is the 3.x built from tools/prometheus, at the version its manifest names', async () => {
    const body = (await (await fetch(`${prometheusUrl}/api/v1/status/buildinfo`)).json()) as { data: { version: string; buildUser: string } };
    expect(`v${body.data.version}`).toBe(addonPodSpec('prometheus').image.split(':').pop());
    // scripts/tools/prometheus3.sh stamps this; a release image says something else.
    expect(body.data.buildUser).toBe('meshloop');
  });

  it('Prometheus discovers the service pods through its kubernetes_sd config and scrapes their metrics ports', async () => {
    const pods = [...(await podsOf(kube, 'meshloop', 'frontend')), ...(await podsOf(kube, 'meshloop', 'business-logic'))];
    expect(pods.length).toBeGreaterThanOrEqual(2);
    const targets = await waitFor('every service pod scraped', async () => {
      const response = (await (await fetch(`${prometheusUrl}/api/v1/targets?state=active`)).json()) as {
        data: { activeTargets: Array<{ scrapePool: string; labels: Record<string, string>; discoveredLabels: Record<string, string>; health: string }> };
      };
      const up = response.data.activeTargets.filter((t) => t.scrapePool === 'meshloop-services' && t.health === 'up');
      return pods.every((p) => up.some((t) => t.labels.pod === p.metadata.name)) ? up : undefined;
    }, 120_000, 2000);
    for (const target of targets) {
      expect(target.discoveredLabels.__meta_kubernetes_pod_container_port_name).toBe('http-metrics');
      expect(['frontend', 'business-logic']).toContain(target.labels.service);
    }
  }, 150_000);

  it('http_server_request_duration_seconds has exemplars whose trace ids are traces in Jaeger with spans of both services', async () => {
    const since = Date.now();
    const [frontend] = await podsOf(kube, 'meshloop', 'frontend');
    expect(frontend?.status.podIP, 'a running frontend pod').toBeDefined();
    const answered = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const answer = (await (await fetch(`http://${frontend!.status.podIP}:8080/api/fast`)).json()) as { traceId: string };
      answered.add(answer.traceId);
    }
    const requestsDone = Date.now();
    const traceIds = await waitFor('exemplars of these requests in Prometheus', async () => {
      const series = await queryExemplars(prometheusUrl, 'http_server_request_duration_seconds_bucket', since);
      const ids = series.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? '')).filter((id) => answered.has(id));
      return ids.length > 0 ? [...new Set(ids)] : undefined;
    }, 120_000, 2000);
    // Bounded by the scrape interval of prometheus.yml (15 s).
    console.log(`[addons] exemplars of the requests queryable ${Date.now() - requestsDone} ms after them`);
    for (const traceId of traceIds.slice(0, 5)) {
      const trace = await waitFor(`trace ${traceId} in Jaeger`, async () => {
        const t = await jaegerTrace(jaegerUrl, traceId);
        const services = new Set(Object.values(t?.processes ?? {}).map((p) => p.serviceName));
        return services.has('frontend') && services.has('business-logic') ? t : undefined;
      }, 60_000, 1000);
      expect(trace.traceID).toBe(traceId);
    }
  }, 240_000);

  it('in the lite profile the services export spans to Jaeger and say once that log export is off (no Loki), with no export error', async () => {
    for (const app of ['frontend', 'business-logic']) {
      const [pod] = await podsOf(kube, 'meshloop', app);
      expect(pod, `a running ${app} pod`).toBeDefined();
      const logs = await kubectl(kube, ['-n', 'meshloop', 'logs', pod!.metadata.name, '-c', app]);
      const offLines = logs.split('\n').filter((l) => l.includes('log export off'));
      expect(offLines, `${app} says once that log export is off`).toHaveLength(1);
      expect(logs).not.toContain('trace export off');
      expect(logs).not.toMatch(/ENOTFOUND|EAI_AGAIN/);
    }
  });

  // Figures for the profile's requests: what istiod and the add-ons really use on this node.
  it('istiod, Jaeger and Prometheus stay within their lite memory limits; their working sets are reported against the lite requests', async () => {
    const node = (await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(kube, ['get', 'nodes'])).items[0]!.metadata.name;
    const summary = JSON.parse(await kubectl(kube, ['get', '--raw', `/api/v1/nodes/${node}/proxy/stats/summary`])) as {
      pods: Array<{ podRef: { name: string; namespace: string }; containers?: Array<{ name: string; memory?: { workingSetBytes?: number } }> }>;
    };
    const requests = readProfiles().lite!.requests ?? {};
    const limits: Record<string, number> = {};
    for (const [name, namespace, container] of [['istiod', 'istio-system', 'discovery'], ['jaeger', 'observability', 'jaeger'], ['prometheus', 'observability', 'prometheus']] as const) {
      const pod = summary.pods.find((p) => p.podRef.namespace === namespace && p.podRef.name.startsWith(`${name}-`));
      const used = pod?.containers?.find((c) => c.name === container)?.memory?.workingSetBytes;
      expect(used, `working set of ${namespace}/${name} in the kubelet's summary`).toBeGreaterThan(0);
      const mib = Math.round(used! / 2 ** 20);
      console.log(`[addons] ${name}: working set ${mib} MiB (lite requests ${requests[name]?.memory ?? '-'})`);
      const spec = await kubectlJson<{ items: Array<{ spec: { containers: Array<{ name: string; resources?: { limits?: { memory?: string } } }> } }> }>(kube, ['-n', namespace, 'get', 'pods', '-l', `app=${name}`]);
      const limit = spec.items[0]?.spec.containers.find((c) => c.name === container)?.resources?.limits?.memory;
      limits[name] = limit ? Number.parseInt(limit, 10) * (limit.endsWith('Gi') ? 1024 : 1) : Infinity;
      expect(mib, `${name} below its memory limit ${limit}`).toBeLessThan(limits[name]!);
    }
  });
});
