// Real Tilt runs the real cluster-mode Tiltfile against the real-cluster tier's node
// (test/cluster/setup.ts): real Docker builds, a real registry on localhost:5005, a real
// kubelet and containerd running the pods, real istioctl installing real istiod. Stood in:
// kind and ctlptl (test/cluster/stand-ins) and Envoy (the proxyv2 image, see
// scripts/cluster/istio-images.sh). Tests run in order: tilt ci, then tilt up for the
// inner loop, then tilt down.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl, kubectlJson, podsOf, type Kube } from '../support/cluster/kube';
import { clusterTiltEnv, type ClusterTiltEnv } from '../support/cluster/tilt-env';
import { attachWithBreakpoint, BREAKPOINT_TEXT, lineOf } from '../support/debugger-scenario';
import { DevToolsSession, inspectorTargets, type InspectorTarget, type Paused } from '../support/devtools';
import { attachConfig, readLaunchJson, remotePath } from '../support/launch-json';
import { jaegerTrace, queryExemplars } from '../support/observability';
import { freePort, waitFor } from '../support/ports';
import { clickButton, missingWebAssetsHint, runTilt, tiltfileResult, type TiltfileResult } from '../support/tilt';
import { repoRoot, toolPath } from '../support/tools';

const cluster = inject('cluster');
if (!cluster) throw new Error('test/cluster runs in the vitest project "cluster" (vitest.config.mts), whose global setup test/cluster/setup.ts starts the node');
const kube: Kube = { kubeconfig: cluster.kubeconfig };

/** Resources of the Tiltfile left out of the run, because their images cannot exist here. */
const LEFT_OUT: Record<string, string> = {
  loki: "Loki's Go module is AGPL-licensed, which this project may not build from; no image",
  grafana: "Grafana's Go module is AGPL-licensed too, and the Go module proxy here does not serve it: no image",
  kiali: 'the Go module proxy here does not serve Kiali\'s module: no image',
};

interface UIResource {
  metadata: { name: string };
  status: {
    runtimeStatus?: string;
    updateStatus?: string;
    buildHistory?: Array<{ startTime?: string; finishTime?: string; error?: string }>;
  };
}

const isReady = (r: UIResource) =>
  r.status.updateStatus === 'ok' && (r.status.runtimeStatus === 'ok' || r.status.runtimeStatus === 'not_applicable');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

describe('cluster mode: real Tilt on a real Kubernetes node', () => {
  let tiltfile: TiltfileResult;
  let selected: string[] = [];
  let tilt: ClusterTiltEnv;
  let ciPort = 0;
  let upPort = 0;
  let up: ChildProcess | undefined;
  let upOutput = '';
  const figures: Record<string, unknown> = {};

  // --port goes right after the subcommand: everything after `--` is the Tiltfile's.
  const tiltCli = (port: number, [command, ...rest]: string[], timeoutMs = 30_000) =>
    runTilt([command!, '--port', String(port), ...rest], tilt.env, timeoutMs);
  async function uiResources(port: number): Promise<UIResource[]> {
    const run = await tiltCli(port, ['get', 'uiresources', '-o', 'json'], 15_000);
    if (run.code !== 0) throw new Error(run.stderr);
    return (JSON.parse(run.stdout) as { items: UIResource[] }).items;
  }
  async function tiltObject<T>(kind: string, name: string): Promise<T> {
    const run = await tiltCli(upPort, ['get', kind, ...(name ? [name] : []), '-o', 'json']);
    if (run.code !== 0) throw new Error(`tilt get ${kind} ${name}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  beforeAll(async () => {
    tiltfile = await tiltfileResult();
    const names = tiltfile.resources.map((r) => r.name);
    for (const name of Object.keys(LEFT_OUT)) expect(names, `the Tiltfile still defines ${name}`).toContain(name);
    // Without the unit-test resources: this file's edits would run them in the middle of its
    // latency figures (test/cluster/addons.test.ts runs them in cluster mode, under tilt ci).
    const unitTests = new Set(tiltfile.resources.filter((r) => r.labels.includes('tests')).map((r) => r.name));
    selected = names.filter((n) => !(n in LEFT_OUT) && n !== '(Tiltfile)' && !unitTests.has(n));
    ciPort = await freePort();
    upPort = await freePort();
    tilt = clusterTiltEnv({ adminKubeconfig: cluster.kubeconfig, binDir: cluster.binDir, dockerEnv: cluster.dockerEnv, tiltPort: ciPort });
    toolPath('tilt');
  });

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 5000));
      if (up.exitCode === null) up.kill('SIGKILL');
    }
    // Let the worker exit: nothing may keep it waiting on tilt up's pipes.
    up?.stdout?.destroy();
    up?.stderr?.destroy();
    up?.unref();
    console.log(`[cluster] figures: ${JSON.stringify(figures)}`);
    if (tilt) rmSync(tilt.home, { recursive: true, force: true });
  });

  it('tilt ci deploys every buildable resource until "All workloads are healthy", each after the resources it depends on', async () => {
    // Tilt's own record of each resource's builds, polled while `tilt ci` runs (its API
    // goes away when it exits).
    const seen = new Map<string, UIResource>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const r of await uiResources(ciPort).catch(() => [])) seen.set(r.metadata.name, r);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    const t0 = Date.now();
    const ci = await tiltCli(ciPort, ['ci', '--', ...selected], 25 * 60_000);
    figures.tiltCiMs = Date.now() - t0;
    polling = false;
    await poller;
    const output = ci.stdout + ci.stderr;
    expect(ci.code, `tilt ci failed${missingWebAssetsHint(output)}\n${output.slice(-6000)}`).toBe(0);
    expect(output).toContain('All workloads are healthy');

    const firstBuild = (name: string) => {
      const history = seen.get(name)?.status.buildHistory ?? [];
      const starts = history.map((b) => Date.parse(b.startTime ?? '')).filter(Number.isFinite);
      const finishes = history.map((b) => Date.parse(b.finishTime ?? '')).filter(Number.isFinite);
      return { start: Math.min(...starts), finish: Math.min(...finishes) };
    };
    const order: string[] = [];
    for (const name of selected) {
      const own = firstBuild(name);
      expect(Number.isFinite(own.start), `Tilt recorded no build of ${name}`).toBe(true);
      for (const dep of tiltfile.resource(name).resourceDeps) {
        if (dep in LEFT_OUT) continue;
        expect(firstBuild(dep).finish, `${dep} finished before ${name} started`).toBeLessThanOrEqual(own.start);
        order.push(`${dep} < ${name}`);
      }
    }
    // The order the Tiltfile states: Istio, then the namespace and the mesh config, then the services.
    for (const service of ['frontend', 'business-logic', 'business-logic-v2']) {
      for (const before of ['istio', 'namespace', 'mesh-config']) expect(order).toContain(`${before} < ${service}`);
    }
    expect(order).toContain('istio < mesh-config');
    expect(order).toContain('namespace < mesh-config');
  }, 26 * 60_000);

  it('tilt up takes over the deployed resources and reports them all ready', async () => {
    tilt.env.TILT_PORT = String(upPort);
    // --web-mode prod: a Tilt built from source would look for a webpack dev server.
    up = spawn(toolPath('tilt'), ['up', '--port', String(upPort), '--web-mode', 'prod', '--stream', '--', ...selected], {
      cwd: repoRoot,
      env: tilt.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stdout?.on('data', (chunk: Buffer) => (upOutput = (upOutput + chunk.toString()).slice(-200_000)));
    up.stderr?.on('data', (chunk: Buffer) => (upOutput = (upOutput + chunk.toString()).slice(-200_000)));
    const t0 = Date.now();
    await waitFor(
      'tilt up to report every selected resource ready',
      async () => {
        if (up!.exitCode !== null) throw new Error(`tilt up exited: ${upOutput.slice(-4000)}`);
        const resources = await uiResources(upPort);
        const notReady = selected.filter((name) => {
          const r = resources.find((x) => x.metadata.name === name);
          return !r || !isReady(r);
        });
        return notReady.length === 0 ? true : undefined;
      },
      10 * 60_000,
      1000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- tilt up output ---\n${upOutput.slice(-6000)}`);
    });
    figures.tiltUpReadyMs = Date.now() - t0;
  }, 11 * 60_000);

  // --- the inner loop: live update into the running pods -----------------------------

  const services = [
    {
      name: 'frontend',
      file: 'services/frontend/src/app.ts',
      // The answer of /api/fast carries the service version: the edit changes it.
      pattern: /version: config\.service\.version,/,
      replacement: (marker: string) => `version: '${marker}',`,
      served: async (ip: string) => ((await (await fetch(`http://${ip}:8080/api/fast`)).json()) as { version: string }).version,
    },
    {
      name: 'business-logic',
      file: 'services/business-logic/src/app.ts',
      pattern: /endpoint: '[^']*' \}\);/,
      replacement: (marker: string) => `endpoint: '${marker}' });`,
      served: async (ip: string) => ((await (await fetch(`http://${ip}:8081/fast`)).json()) as { endpoint: string }).endpoint,
    },
  ];

  for (const service of services) {
    it(`live update of ${service.name}: 10 consecutive edits of one file are each served by the same pod, with no restart and no image build`, async () => {
      const [pod] = await podsOf(kube, 'meshloop', service.name).then((pods) => pods.filter((p) => p.metadata.labels?.version !== 'v2'));
      expect(pod, `a running ${service.name} pod`).toBeDefined();
      const ip = pod!.status.podIP!;
      const restarts = () => pod!.status.containerStatuses?.map((c) => `${c.name}:${c.restartCount}`).sort();
      const imageBefore = await tiltObject<{ status: { image?: string; buildStartTime?: string } }>('imagemap', service.name);
      const file = path.join(repoRoot, service.file);
      const original = readFileSync(file, 'utf8');
      const match = service.pattern.exec(original);
      expect(match, `${service.file} has the line this test edits (${service.pattern})`).not.toBeNull();
      const latencies: number[] = [];
      let current = match![0];
      try {
        for (let i = 1; i <= 10; i++) {
          const marker = `live-${i}-${Date.now().toString(36)}`;
          const text = readFileSync(file, 'utf8');
          const t0 = Date.now();
          // In place, as an editor saves; only our line changes (others may edit the tree too).
          writeFileSync(file, text.replace(current, service.replacement(marker)));
          current = service.replacement(marker);
          await waitFor(`edit ${i} served by ${pod!.metadata.name}`, async () => ((await service.served(ip).catch(() => '')) === marker ? true : undefined), 60_000, 50);
          latencies.push(Date.now() - t0);
        }
      } finally {
        writeFileSync(file, readFileSync(file, 'utf8').replace(current, match![0]));
      }
      figures[`${service.name}SaveToServedMs`] = { p50: percentile(latencies, 50), p95: percentile(latencies, 95), all: latencies };

      const [after] = await podsOf(kube, 'meshloop', service.name).then((pods) => pods.filter((p) => p.status.podIP === ip));
      expect(after?.metadata.uid, 'the same pod served every edit').toBe(pod!.metadata.uid);
      expect(after?.status.containerStatuses?.map((c) => `${c.name}:${c.restartCount}`).sort()).toEqual(restarts());
      const imageAfter = await tiltObject<{ status: { image?: string; buildStartTime?: string } }>('imagemap', service.name);
      expect(imageAfter.status, 'no image was built for the edits (live updates only)').toEqual(imageBefore.status);
      // Tilt's LiveUpdate objects: the one that synced into this pod.
      const liveUpdates = await tiltObject<{ items: Array<{ status: { containers?: Array<{ podName: string; lastFileTimeSynced?: string; lastExecError?: string }> } }> }>(
        'liveupdates',
        '',
      );
      const synced = liveUpdates.items.flatMap((l) => l.status.containers ?? []).find((c) => c.podName === pod!.metadata.name);
      expect(synced, `a Tilt LiveUpdate synced into ${pod!.metadata.name}`).toBeDefined();
      expect(synced?.lastExecError ?? '').toBe('');
      expect(Date.parse(synced?.lastFileTimeSynced ?? '')).toBeGreaterThan(Date.now() - 5 * 60_000);
    }, 15 * 60_000);
  }

  // --- links and port-forwards ----------------------------------------------------------

  it('every link of the services and the add-ons answers through its port-forward or host port mapping', async () => {
    const checked: string[] = [];
    for (const name of selected) {
      const resource = tiltfile.resource(name);
      for (const link of resource.links) {
        // https://localhost:8443 is the gateway's TLS port: the gateway stand-in serves plain HTTP only.
        if (link.url.startsWith('https://')) continue;
        // Prometheus built from its Go module has no web UI (its React pages come from an
        // npm build in Prometheus' release process; the pages answer 500 "Error opening
        // React index.html"): its links' port-forward is checked with its API on the same port.
        const url = name === 'prometheus' ? `${new URL(link.url).origin}/-/ready` : link.url;
        const status = await waitFor(`${name} link ${url}`, async () => {
          const response = await fetch(url).catch(() => undefined);
          return response && response.status < 400 ? response.status : undefined;
        }, 60_000, 500);
        expect(status, link.url).toBeLessThan(400);
        checked.push(link.url);
      }
    }
    expect(checked).toContain('http://localhost:8080/');
    expect(checked.some((u) => u.startsWith('http://localhost:16686/'))).toBe(true);
    expect(checked.some((u) => u.startsWith('http://localhost:9090'))).toBe(true);
    const landing = await (await fetch('http://localhost:8080/')).text();
    expect(landing.toLowerCase()).toContain('<html');
  }, 5 * 60_000);

  // --- debugger: Tilt's port-forward to the inspector on the pod's loopback ------------

  /**
   * The inspector target behind a forward once the same process has been listed for
   * `quietMs` (a live update of the tests above may still be restarting the service).
   */
  async function settledTarget(local: number, quietMs = 5000): Promise<InspectorTarget> {
    let last: InspectorTarget | undefined;
    let since = Date.now();
    return waitFor(`a settled inspector target through localhost:${local}`, async () => {
      const [target] = await inspectorTargets(`http://127.0.0.1:${local}`).catch(() => [] as InspectorTarget[]);
      if (!target || target.id !== last?.id) {
        last = target;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= quietMs ? target : undefined;
    }, 90_000, 500);
  }

  it.each(['frontend', 'business-logic'])("Tilt's debugger port-forward of %s reaches the inspector of the service's process in its pod", async (name) => {
    const forward = tiltfile.resource(name).portForwards.find((f) => f.name === 'debugger');
    expect(forward?.container).toBe(9229);
    const target = await settledTarget(forward!.local);
    const session = await DevToolsSession.connect(target.webSocketDebuggerUrl);
    try {
      const { result } = await session.send<{ result: { value: string } }>('Runtime.evaluate', { expression: "process.getBuiltinModule('node:os').hostname()", returnByValue: true });
      const pods = (await podsOf(kube, 'meshloop', name)).filter((p) => p.metadata.labels?.version !== 'v2').map((p) => p.metadata.name);
      expect(pods).toContain(result.value); // a pod's hostname is its name
    } finally {
      session.close();
    }
  }, 2 * 60_000);

  it('with the debugger attached through that forward, a request through the Istio gateway pauses on a breakpoint in business-logic\'s app.ts (source-mapped, values in scope) and completes after resume', async () => {
    const forward = tiltfile.resource('business-logic').portForwards.find((f) => f.name === 'debugger')!;
    const [pod] = (await podsOf(kube, 'meshloop', 'business-logic')).filter((p) => p.metadata.labels?.version !== 'v2');
    const appFile = remotePath(attachConfig(readLaunchJson(), 'business-logic', 'cluster'), 'services/business-logic/src/app.ts');
    const source = await kubectl(kube, ['-n', 'meshloop', 'exec', pod!.metadata.name, '-c', 'business-logic', '--', 'cat', appFile]);
    const line = lineOf(source, BREAKPOINT_TEXT);
    // The sidecars here are stand-ins that do not route (no Envoy): the business-logic Service
    // spreads over v1 and the v2 canary, and the frontend keeps its connection to whichever pod
    // it got. Only v1 has this debugger attached, so the canary steps aside for this test.
    const v2 = ['-n', 'meshloop', 'deployment/business-logic-v2'];
    await kubectl(kube, ['scale', ...v2, '--replicas=0']);
    await kubectl(kube, ['-n', 'meshloop', 'wait', '--for=delete', 'pod', '-l', 'app=business-logic,version=v2', '--timeout=90s'], 100_000);
    const attached = await attachWithBreakpoint(await settledTarget(forward.local), appFile, line);
    try {
      expect(attached.resolved).toBeGreaterThan(0);
      const paused = attached.session.next<Paused>('Debugger.paused', 30_000);
      const request = fetch('http://localhost:8080/api/slow?delayMs=7', { signal: AbortSignal.timeout(60_000) });
      const frame = (await paused).callFrames[0]!;
      expect(attached.session.originalLocation(frame)).toEqual({ file: appFile, line });
      expect(await attached.session.evaluate(frame, 'requestedDelayMs')).toBe(7);
      await attached.session.send('Debugger.resume');
      expect((await request).status).toBe(200);
    } finally {
      attached.session.close();
      await kubectl(kube, ['scale', ...v2, '--replicas=1']);
      await kubectl(kube, ['rollout', 'status', ...v2, '--timeout=120s'], 130_000);
    }
  }, 5 * 60_000);

  // --- mesh buttons -------------------------------------------------------------------

  async function clickAndWait(name: string, inputs: Record<string, string>) {
    const clickedAt = await clickButton(upPort, name, inputs);
    const done = await waitFor(`the ${name} Cmd to finish`, async () => {
      const s = (await tiltObject<{ status: { terminated?: { exitCode: number; startedAt: string } } }>('cmd', name)).status;
      return s.terminated && Date.parse(s.terminated.startedAt) >= Date.parse(clickedAt) - 1000 ? s.terminated : undefined;
    }, 120_000, 500);
    expect(done.exitCode, `${name} exit code`).toBe(0);
  }
  interface VirtualService {
    spec: { http: Array<{ name?: string; fault?: { delay?: { percentage?: { value: number } }; abort?: { percentage?: { value: number }; httpStatus?: number } }; route: Array<{ destination: { subset?: string }; weight?: number }> }> };
  }
  const virtualService = () => kubectlJson<VirtualService>(kube, ['-n', 'meshloop', 'get', 'virtualservice', 'business-logic']);
  const weights = (vs: VirtualService) =>
    Object.fromEntries((vs.spec.http.find((h) => h.name === 'business-logic')?.route ?? []).map((r) => [r.destination.subset, r.weight ?? 0]));

  it('the Canary weight, Faults and Reset mesh buttons change the VirtualService in the cluster (checked by istiod\'s webhook)', async () => {
    expect(weights(await virtualService())).toEqual({ v1: 100, v2: 0 });
    await clickAndWait('canary-weight', { WEIGHT: '50' });
    expect(weights(await virtualService())).toEqual({ v1: 50, v2: 50 });

    await clickAndWait('faults', { DELAY_PERCENT: '10', DELAY_SECONDS: '2', ABORT_PERCENT: '50', ABORT_STATUS: '503' });
    const faulty = (await virtualService()).spec.http.find((h) => h.name === 'business-logic');
    expect(faulty?.fault?.abort?.percentage?.value).toBe(50);
    expect(faulty?.fault?.abort?.httpStatus).toBe(503);
    expect(faulty?.fault?.delay?.percentage?.value).toBe(10);

    await clickAndWait('reset-mesh', {});
    const reset = await virtualService();
    expect(weights(reset)).toEqual({ v1: 100, v2: 0 });
    expect(reset.spec.http.find((h) => h.name === 'business-logic')?.fault).toBeUndefined();
  }, 5 * 60_000);

  // --- in-cluster traffic and observability -------------------------------------------

  /** /api/fast of the frontend pod, once it answers 200 (a live update may be restarting a service). */
  async function frontendFast(): Promise<{ traceId: string; downstream: { service: string } }> {
    const [frontend] = await podsOf(kube, 'meshloop', 'frontend');
    return waitFor('a 200 from the frontend pod\'s /api/fast', async () => {
      const response = await fetch(`http://${frontend!.status.podIP}:8080/api/fast`);
      return response.status === 200 ? ((await response.json()) as { traceId: string; downstream: { service: string } }) : undefined;
    }, 30_000, 250);
  }

  it('frontend reaches business-logic by its Service DNS name inside the cluster', async () => {
    const [frontend] = await podsOf(kube, 'meshloop', 'frontend');
    const resolved = await kubectl(kube, [
      '-n', 'meshloop', 'exec', frontend!.metadata.name, '-c', 'frontend', '--',
      'node', '-e', "require('dns').lookup('business-logic.meshloop.svc.cluster.local',(e,a)=>{if(e)throw e;console.log(a)})",
    ]);
    const service = await kubectlJson<{ spec: { clusterIP: string } }>(kube, ['-n', 'meshloop', 'get', 'service', 'business-logic']);
    expect(resolved.trim()).toBe(service.spec.clusterIP);
    expect((await frontendFast()).downstream.service).toBe('business-logic');
  });

  it('a request through the frontend pod leaves one trace in the in-cluster Jaeger, with spans of both services', async () => {
    const answer = await frontendFast();
    expect(answer.traceId).toMatch(/^[0-9a-f]{32}$/);
    const trace = await waitFor('the trace in Jaeger', async () => {
      const t = await jaegerTrace('http://localhost:16686', answer.traceId);
      const services = new Set(Object.values(t?.processes ?? {}).map((p) => p.serviceName));
      return services.has('frontend') && services.has('business-logic') ? t : undefined;
    }, 60_000, 1000);
    expect(trace.spans.length).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('the in-cluster Prometheus finds the pods through kubernetes_sd and has the RED histogram with trace exemplars', async () => {
    const since = Date.now() - 10 * 60_000;
    const [frontend] = await podsOf(kube, 'meshloop', 'frontend');
    for (let i = 0; i < 20; i++) await fetch(`http://${frontend!.status.podIP}:8080/api/fast`).then((r) => r.arrayBuffer());
    const series = await waitFor('exemplars of frontend requests', async () => {
      const found = await queryExemplars('http://localhost:9090', 'http_server_request_duration_seconds_bucket{service="frontend"}', since);
      return found.some((s) => s.exemplars.some((e) => /^[0-9a-f]{32}$/.test(e.labels.trace_id ?? ''))) ? found : undefined;
    }, 120_000, 2000);
    expect(series.length).toBeGreaterThan(0);
    const targets = (await (await fetch('http://localhost:9090/api/v1/targets?state=active')).json()) as {
      data: { activeTargets: Array<{ discoveredLabels: Record<string, string>; health: string }> };
    };
    const pods = targets.data.activeTargets.filter((t) => t.discoveredLabels.__meta_kubernetes_namespace === 'meshloop' && t.health === 'up');
    expect(pods.length, 'meshloop pods discovered through the Kubernetes API and scraped').toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('reports the memory of the node and its pods', () => {
    const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const pidsDir = '/run/meshloop-cluster/pids';
    const components: Record<string, number> = {};
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'containerd', 'coredns', 'registry']) {
      components[name] = rss(Number(readFileSync(path.join(pidsDir, `${name}.pid`), 'utf8')));
    }
    if (up?.pid) components.tilt = rss(up.pid);
    const podsBytes = Number(readFileSync('/sys/fs/cgroup/memory/meshloop-cluster/memory.usage_in_bytes', 'utf8'));
    figures.memoryMiB = {
      ...Object.fromEntries(Object.entries(components).map(([k, v]) => [k, Math.round(v / 2 ** 20)])),
      hostTotal: Math.round(Object.values(components).reduce((a, b) => a + b, 0) / 2 ** 20),
      podsCgroup: Math.round(podsBytes / 2 ** 20),
    };
    for (const value of Object.values(components)) expect(value).toBeGreaterThan(0);
  });

  // --- tilt down ------------------------------------------------------------------------

  it('tilt down leaves nothing of the project: no namespaces, no Istio CRDs, no webhooks', async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await waitFor('tilt up to stop', () => (up!.exitCode !== null || up!.signalCode !== null ? true : undefined), 60_000, 200);
    }
    const t0 = Date.now();
    const down = await runTilt(['down', '--', ...selected], tilt.env, 10 * 60_000);
    figures.tiltDownMs = Date.now() - t0;
    expect(down.code, down.stdout + down.stderr).toBe(0);

    const namespaces = (await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(kube, ['get', 'namespaces'])).items.map((n) => n.metadata.name);
    expect(namespaces.filter((n) => ['meshloop', 'observability', 'istio-system'].includes(n))).toEqual([]);
    const crds = (await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(kube, ['get', 'crd'])).items.map((c) => c.metadata.name);
    expect(crds.filter((c) => c.endsWith('istio.io'))).toEqual([]);
    for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
      const hooks = (await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(kube, ['get', kind])).items.map((w) => w.metadata.name);
      expect(hooks, kind).toEqual([]);
    }
    const clusterWide = (await kubectlJson<{ items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> }>(kube, ['get', 'clusterroles,clusterrolebindings'])).items;
    expect(clusterWide.filter((o) => o.metadata.name.startsWith('meshloop-') || o.metadata.name.startsWith('istio'))).toEqual([]);
  }, 12 * 60_000);
});
