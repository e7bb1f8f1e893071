// The proxyv2 STAND-IN (scripts/cluster/istio/pilot-agent-standin.go; Envoy cannot
// exist on these machines) against the pod specs the REAL Istio injection writes:
// `istioctl kube-inject` renders k8s/*.yaml with the injector config, values and mesh
// config of the real install (offline: --revision default plus the rendered files; in
// the cluster tier istiod's webhook does the same). The test checks that the injected
// containers call only what the stand-in implements, then runs the stand-in with the
// injected arguments and environment next to a local stand-in "app" and probes it the
// way the kubelet would.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configMapData, istioctlOk, parseObjectsLoose, renderInstall, scratchFile } from './support/istioctl';
import type { KubeObject } from './support/manifests';
import { freePort, waitFor } from './support/ports';
import { repoRoot, toolPath } from './support/tools';

interface EnvVar { name: string; value?: string }
interface Probe { httpGet?: { path: string; port: number | string } }
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  restartPolicy?: string;
  lifecycle?: Record<string, { exec?: { command: string[] } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}
interface PodTemplate extends KubeObject {
  spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: Container[]; initContainers?: Container[] } } };
}

const proxyImage = 'docker.io/istio/proxyv2:1.30.3';
let injectFiles: string[] = [];
let standIn = '';
const children: ChildProcess[] = [];
const servers: Server[] = [];

beforeAll(() => {
  toolPath('istioctl');
  const rendered = renderInstall();
  injectFiles = [
    '--injectConfigFile', scratchFile('inject-config.yaml', configMapData(rendered, 'istio-sidecar-injector', 'config')),
    '--valuesFile', scratchFile('inject-values.json', configMapData(rendered, 'istio-sidecar-injector', 'values')),
    '--meshConfigFile', scratchFile('inject-mesh.yaml', configMapData(rendered, 'istio', 'mesh')),
  ];
  standIn = path.join(path.dirname(scratchFile('placeholder', '')), 'pilot-agent');
  try {
    execFileSync('go', ['build', '-trimpath', '-o', standIn, 'pilot-agent-standin.go'], {
      cwd: path.join(repoRoot, 'scripts', 'cluster', 'istio'),
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 5 * 60_000,
    });
  } catch (error) {
    throw new Error(`Go (https://go.dev/dl) is needed to build the proxyv2 stand-in: ${String(error)}`, { cause: error });
  }
}, 40 * 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/**
 * The Deployment of `file` as the real injector writes it. `native` adds the annotation
 * that selects native sidecars, which istiod picks by itself on Kubernetes >= 1.33 (the
 * cluster tier runs 1.34); offline kube-inject cannot ask the cluster.
 */
function injected(file: string, native: boolean): PodTemplate {
  let source = file;
  if (native) {
    const docs = parseObjectsLoose(readFileSync(path.join(repoRoot, file), 'utf8'));
    for (const doc of docs) {
      if (doc.kind !== 'Deployment') continue;
      const template = (doc as PodTemplate).spec.template;
      template.metadata.annotations = { ...template.metadata.annotations, 'sidecar.istio.io/nativeSidecar': 'true' };
    }
    source = scratchFile(`native-${path.basename(file)}`, docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  }
  // --revision: without it kube-inject waits for a cluster forever.
  const out = istioctlOk(['kube-inject', '--revision', 'default', ...injectFiles, '-f', source], { timeoutMs: 60_000 });
  const deployment = parseObjectsLoose(out).find((o) => o.kind === 'Deployment');
  if (!deployment) throw new Error(`kube-inject of ${file} printed no Deployment`);
  return deployment as PodTemplate;
}

function proxyContainers(pod: PodTemplate): Container[] {
  const spec = pod.spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].filter((c) => c.image === proxyImage);
}

/** The pilot-agent command lines a pod spec makes: container args (the image's entrypoint is pilot-agent) and exec hooks. */
function agentCalls(pod: PodTemplate): string[][] {
  return proxyContainers(pod).flatMap((c) => {
    expect(c.command, `${c.name} must use the image's entrypoint`).toBeUndefined();
    const hooks = Object.values(c.lifecycle ?? {}).flatMap((h) => (h.exec ? [h.exec.command] : []));
    return [c.args ?? [], ...hooks];
  });
}

const services = ['k8s/frontend.yaml', 'k8s/business-logic.yaml', 'k8s/business-logic-v2.yaml'];

describe('what the real injection asks of the proxy image', () => {
  test.each(services.flatMap((file) => [[file, false], [file, true]] as const))(
    '%s (native sidecar: %s): pilot-agent istio-iptables, proxy sidecar, wait or request only; probes on 15021 and the rewritten app probes on 15020',
    (file, native) => {
      const pod = injected(file, native);
      const verbs = agentCalls(pod).map((call) => {
        const args = call[0] === 'pilot-agent' ? call.slice(1) : call;
        return args[0] === 'proxy' ? `proxy ${args[1]}` : (args[0] ?? '');
      });
      expect(new Set(verbs)).toEqual(new Set(['istio-iptables', 'proxy sidecar', native ? 'request' : 'wait']));

      const proxy = proxyContainers(pod).find((c) => c.name === 'istio-proxy');
      expect(proxy?.restartPolicy === 'Always').toBe(native);
      expect(proxy?.readinessProbe?.httpGet).toMatchObject({ path: '/healthz/ready', port: 15021 });
      const app = pod.spec.template.spec.containers.find((c) => c.name !== 'istio-proxy');
      for (const probe of [app?.readinessProbe, app?.livenessProbe, app?.startupProbe]) {
        expect(probe?.httpGet?.port).toBe(15020);
        expect(probe?.httpGet?.path).toMatch(new RegExp(`^/app-health/${app?.name}/(readyz|livez|startupz)$`));
      }
    },
  );
});

function start(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(standIn, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = start(args, env);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return exitOf(child).then((code) => ({ code, output }));
}

/** A local HTTP "app": /livez 200, /readyz as `ready` says, / echoes the Host header. */
async function fakeApp(state: { ready: boolean }): Promise<number> {
  const port = await freePort();
  const server = createServer((req, res) => {
    if (req.url === '/livez') res.writeHead(200).end('live');
    else if (req.url === '/readyz') res.writeHead(state.ready ? 200 : 503).end(state.ready ? 'ready' : 'not ready');
    else res.writeHead(200, { 'content-type': 'text/plain' }).end(`app saw host ${req.headers.host ?? ''} path ${req.url ?? ''}`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return port;
}

async function status(url: string): Promise<number> {
  return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).status;
}

describe('the stand-in run with the injected arguments and environment', () => {
  test('sidecar: the init command is a no-op, the proxy is ready on 15021, app probes are forwarded as ISTIO_KUBE_APP_PROBERS says, wait and the drain hook succeed, SIGTERM ends it', async () => {
    const pod = injected('k8s/frontend.yaml', true);
    const init = proxyContainers(pod).find((c) => c.name === 'istio-init');
    const proxy = proxyContainers(pod).find((c) => c.name === 'istio-proxy');
    if (!init?.args || !proxy?.args) throw new Error('no istio-init or istio-proxy in the injected pod');

    const iptables = await run(init.args);
    expect(iptables.code).toBe(0);
    expect(iptables.output).toContain('not applied (no traffic interception');

    const state = { ready: false };
    const appPort = await fakeApp(state);
    const [statusPort, readyPort, statsPort] = [await freePort(), await freePort(), await freePort()];
    // The injected probers, pointed at the local app's port instead of the container's.
    const probers = JSON.parse(proxy.env?.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')?.value ?? 'null') as Record<string, { httpGet: { port: number } }>;
    expect(Object.keys(probers).sort()).toEqual(['/app-health/frontend/livez', '/app-health/frontend/readyz', '/app-health/frontend/startupz']);
    for (const prober of Object.values(probers)) prober.httpGet.port = appPort;
    const sidecar = start([...proxy.args, `--statusPort=${statusPort}`], {
      INSTANCE_IP: '127.0.0.1',
      ISTIO_KUBE_APP_PROBERS: JSON.stringify(probers),
      MESHLOOP_STANDIN_READY_PORT: String(readyPort),
      MESHLOOP_STANDIN_STATS_PORT: String(statsPort),
    });

    const wait = await run(['wait', '--url', `http://127.0.0.1:${readyPort}/healthz/ready`, '--timeoutSeconds', '20']);
    expect(wait.code).toBe(0);
    expect(await status(`http://127.0.0.1:${readyPort}/healthz/ready`)).toBe(200);
    const base = `http://127.0.0.1:${statusPort}`;
    expect(await status(`${base}/app-health/frontend/livez`)).toBe(200);
    expect(await status(`${base}/app-health/frontend/startupz`)).toBe(200);
    // The app's own answer is passed on: not ready, then ready.
    expect(await status(`${base}/app-health/frontend/readyz`)).toBe(503);
    state.ready = true;
    expect(await status(`${base}/app-health/frontend/readyz`)).toBe(200);
    expect(await status(`${base}/app-health/other/readyz`)).toBe(400);

    const preStop = Object.values(proxy.lifecycle ?? {}).find((h) => h.exec?.command.includes('request'))?.exec?.command;
    expect(preStop).toEqual(['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain']);
    const drain = await run([...(preStop ?? []).slice(1).map((a) => a.replace('15020', String(statusPort)))]);
    expect(drain.code).toBe(0);

    sidecar.kill('SIGTERM');
    expect(await exitOf(sidecar)).toBe(0);
  });

  test('router (the ingress gateway): forwards :8080 to the frontend as plain HTTP, keeping the Host header', async () => {
    const appPort = await fakeApp({ ready: true });
    const [statusPort, readyPort, statsPort, gatewayPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const gateway = start(['proxy', 'router', '--domain', 'istio-system.svc.cluster.local', `--statusPort=${statusPort}`], {
      MESHLOOP_STANDIN_READY_PORT: String(readyPort),
      MESHLOOP_STANDIN_STATS_PORT: String(statsPort),
      MESHLOOP_STANDIN_GATEWAY_PORT: String(gatewayPort),
      MESHLOOP_STANDIN_GATEWAY_UPSTREAM: `http://127.0.0.1:${appPort}`,
    });
    await waitFor('the gateway stand-in', async () => ((await status(`http://127.0.0.1:${readyPort}/healthz/ready`)) === 200 ? true : undefined), 20_000);
    // fetch() cannot set Host; node:http can, like a browser on http://localhost:8080.
    const response = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port: gatewayPort, path: '/some/page?x=1', headers: { host: 'localhost:8080' }, timeout: 5_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject);
    });
    expect(response).toEqual({ status: 200, body: 'app saw host localhost:8080 path /some/page?x=1' });
    gateway.kill('SIGTERM');
    expect(await exitOf(gateway)).toBe(0);
  });

  test('an unknown pilot-agent command fails loudly instead of pretending', async () => {
    const result = await run(['istio-clean-iptables']);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('unsupported command');
  });
});
