// The observability add-on images the real-cluster tier runs (Jaeger from
// tools/jaeger, Prometheus 3 from tools/prometheus), built into the container
// tier's real Docker engine by scripts/cluster/addon-images.sh and run there the
// way their Deployments run them: the manifest's image, args, env, user,
// read-only root, dropped capabilities, ConfigMap files (the real ones from
// observability/), emptyDirs and limits. Only loopback ports are published.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { addonPodSpec, buildAddonImages, cpuQuantity, quantityBytes, type Addon, type AddonPodSpec, type BuiltImage } from '../support/addon-images';
import { docker, ensureBaseImages, removeLabelled, runContainer, testLabel, type Container } from '../support/docker';
import { waitFor } from '../support/ports';
import { repoRoot } from '../support/tools';

const label = testLabel('addon-images');
let images: Map<Addon, BuiltImage>;
const tempDirs: string[] = [];

/** Starts the image like the kubelet would start the Deployment's container. */
function runLikeThePod(spec: AddonPodSpec): Container {
  const flags = ['--user', `${spec.runAsUser}:${spec.runAsGroup}`];
  if (spec.fsGroup !== undefined) flags.push('--group-add', String(spec.fsGroup));
  if (!spec.allowPrivilegeEscalation) flags.push('--security-opt', 'no-new-privileges');
  for (const cap of spec.dropCapabilities) flags.push('--cap-drop', cap);
  if (spec.memoryLimit) flags.push('--memory', String(quantityBytes(spec.memoryLimit)));
  if (spec.cpuLimit) flags.push('--cpus', String(cpuQuantity(spec.cpuLimit)));
  for (const mount of spec.mounts) {
    if (mount.configMap) {
      // The ConfigMap's files, copied from observability/ unchanged.
      // Modes as the kubelet writes a ConfigMap volume (directory 0755, files 0644: defaultMode).
      const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-configmap-'));
      tempDirs.push(dir);
      chmodSync(dir, 0o755);
      for (const [key, file] of Object.entries(mount.configMap)) writeFileSync(path.join(dir, key), readFileSync(path.join(repoRoot, file)), { mode: 0o644 });
      flags.push('-v', `${dir}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`);
    } else {
      // An emptyDir: world-writable, or group-owned by fsGroup with setgid, as the kubelet makes it.
      const options = spec.fsGroup === undefined ? ['mode=0777'] : ['mode=2777', `gid=${spec.fsGroup}`];
      if (mount.emptyDirSizeLimit) options.push(`size=${quantityBytes(mount.emptyDirSizeLimit)}`);
      flags.push('--tmpfs', `${mount.mountPath}:${options.join(',')}`);
    }
  }
  return runContainer(spec.image, {
    label,
    env: spec.env,
    ports: [...spec.ports.values()],
    readOnly: spec.readOnlyRootFilesystem,
    flags,
    command: spec.args,
  });
}

/** Waits until the probe answers 2xx/3xx, as the kubelet's httpGet probe needs; fails early if the container exits. */
async function probeUntilOk(container: Container, probe: { path: string; port: number }): Promise<number> {
  const start = Date.now();
  try {
    await waitFor(`${probe.path} on container port ${probe.port}`, async () => {
      if (docker(['inspect', '--format', '{{.State.Running}}', container.id]) !== 'true') throw new Error('the container exited');
      const response = await fetch(`${container.url(probe.port)}${probe.path}`);
      return response.status >= 200 && response.status < 400 ? true : undefined;
    }, 60_000, 200);
  } catch (error) {
    throw new Error(`${String(error)}\n--- container log ---\n${container.logs().slice(-4000)}`, { cause: error });
  }
  return Date.now() - start;
}

/** The container's processes run as the pod's user and group, on a read-only root filesystem. */
function expectRunsAs(container: Container, spec: AddonPodSpec): void {
  const processes = docker(['top', container.id, '-o', 'pid,uid,gid']).split('\n').slice(1);
  expect(processes.length).toBeGreaterThan(0);
  for (const line of processes) expect(line.trim().split(/\s+/).slice(1)).toEqual([String(spec.runAsUser), String(spec.runAsGroup)]);
  expect(docker(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container.id])).toBe(String(spec.readOnlyRootFilesystem));
}

beforeAll(() => {
  const { env } = ensureBaseImages();
  removeLabelled(label);
  images = buildAddonImages(env);
}, 60 * 60_000);

afterAll(() => {
  removeLabelled(label);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('add-on images built here, tagged as the manifests name them', () => {
  it.each(['jaeger', 'prometheus'] as const)('%s image carries the exact tag its Deployment runs', (addon) => {
    const spec = addonPodSpec(addon);
    const built = images.get(addon);
    expect(built?.image).toBe(spec.image);
    expect(docker(['image', 'inspect', '--format', '{{.Id}}', spec.image])).toBe(built?.id);
    console.log(`${spec.image}: ${((built?.sizeBytes ?? 0) / 1e6).toFixed(0)} MB`);
  });
});

describe('Jaeger image run like its pod', () => {
  const spec = addonPodSpec('jaeger');
  let jaeger: Container | undefined;
  const url = (name: string) => jaeger!.url(spec.ports.get(name) ?? Number.NaN);

  it('starts with the manifest args, as a non-root user on a read-only root, and answers its readiness and liveness probes', async () => {
    jaeger = runLikeThePod(spec);
    const readyMs = await probeUntilOk(jaeger, spec.readiness);
    console.log(`jaeger ready ${readyMs} ms after docker run`);
    const live = await fetch(`${jaeger.url(spec.liveness.port)}${spec.liveness.path}`);
    expect(live.status).toBe(200);
    expectRunsAs(jaeger, spec);
  }, 90_000);

  it('stores a span posted to its Zipkin receiver and serves it from its query API', async () => {
    expect(jaeger, 'the Jaeger container of the previous test').toBeDefined();
    const traceId = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
    const span = {
      traceId,
      id: traceId.slice(0, 16),
      name: 'GET /addon-image-check',
      timestamp: Date.now() * 1000,
      duration: 1500,
      kind: 'SERVER',
      localEndpoint: { serviceName: 'addon-image-check' },
    };
    const posted = await fetch(`${url('http-zipkin')}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([span]),
    });
    expect(posted.status).toBe(202);
    const trace = await waitFor('the trace in Jaeger', async () => {
      const response = await fetch(`${url('http-query')}/api/traces/${traceId}`);
      if (!response.ok) return undefined;
      const body = (await response.json()) as { data: Array<{ spans: Array<{ operationName: string }> }> };
      return body.data[0];
    }, 20_000, 250);
    expect(trace.spans.map((s) => s.operationName)).toEqual(['GET /addon-image-check']);
  }, 30_000);
});

describe('Prometheus image run like its pod', () => {
  const spec = addonPodSpec('prometheus');
  let prometheus: Container | undefined;
  const api = () => prometheus!.url(spec.ports.get('http-web') ?? Number.NaN);

  it('is Prometheus 3 at the version the manifest names, and its promtool accepts observability/prometheus/prometheus.yml unchanged', () => {
    const version = docker(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/prometheus', spec.image, '--version']);
    expect(version).toMatch(new RegExp(`^prometheus, version ${spec.image.split(':v')[1]?.replaceAll('.', '\\.')} `));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-promtool-'));
    tempDirs.push(dir);
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'prometheus.yml'), readFileSync(path.join(repoRoot, 'observability', 'prometheus', 'prometheus.yml')), { mode: 0o644 });
    const check = docker(['run', '--rm', '--network', 'none', '--user', '65534:65534', '-v', `${dir}:/cfg:ro`, '--entrypoint', '/bin/promtool', spec.image, 'check', 'config', '/cfg/prometheus.yml']);
    expect(check).toContain('SUCCESS');
  }, 60_000);

  it('starts with the manifest args, as a non-root user on a read-only root, and answers its readiness and liveness probes', async () => {
    prometheus = runLikeThePod(spec);
    const readyMs = await probeUntilOk(prometheus, spec.readiness);
    console.log(`prometheus ready ${readyMs} ms after docker run`);
    const live = await fetch(`${prometheus.url(spec.liveness.port)}${spec.liveness.path}`);
    expect(live.status).toBe(200);
    expectRunsAs(prometheus, spec);
  }, 90_000);

  it('serves its real web UI (built from the module web/ui) on its Tilt link: the app page, filled in by Prometheus, and its script', async () => {
    expect(prometheus, 'the Prometheus container of the previous test').toBeDefined();
    for (const page of ['/', '/query', '/targets']) {
      const response = await fetch(`${api()}${page}`);
      expect(response.status, page).toBe(200);
      const html = await response.text();
      // Prometheus replaces these placeholders when it serves the app's index.html.
      expect(html, page).not.toContain('_PLACEHOLDER');
      const script = /src="\.?\/?(assets\/index-[^"]+\.js)"/.exec(html)?.[1];
      expect(script, `${page} loads the app's script`).toBeDefined();
      const js = await fetch(`${api()}/${script}`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
      expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    }
  });

  it('runs the real config file with the manifest flags: every scrape job with Kubernetes discovery, exemplar storage on, its retention as the manifest sets it', async () => {
    expect(prometheus, 'the Prometheus container of the previous test').toBeDefined();
    const config = (await (await fetch(`${api()}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    const loaded = parse(config.data.yaml) as { scrape_configs: Array<{ job_name: string; kubernetes_sd_configs?: unknown[] }> };
    const file = parse(readFileSync(path.join(repoRoot, 'observability', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ job_name: string }>;
    };
    expect(loaded.scrape_configs.map((j) => j.job_name)).toEqual(file.scrape_configs.map((j) => j.job_name));
    for (const job of loaded.scrape_configs) expect(job.kubernetes_sd_configs?.length, job.job_name).toBe(1);
    const flags = (await (await fetch(`${api()}/api/v1/status/flags`)).json()) as { data: Record<string, string> };
    const arg = (name: string) => spec.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    expect(arg('enable-feature')).toBe('exemplar-storage');
    expect(flags.data['enable-feature']).toBe(arg('enable-feature'));
    expect(flags.data['storage.tsdb.retention.time']).toBe(arg('storage.tsdb.retention.time'));
    expect(flags.data['config.file']).toBe(arg('config.file'));
    expect(flags.data['storage.tsdb.path']).toBe(arg('storage.tsdb.path'));
  }, 30_000);
});
