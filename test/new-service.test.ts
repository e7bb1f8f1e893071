// `npm run new-service` end to end, on a copy of the repository: refusals write
// nothing, --dry-run writes nothing, a generated service passes the repository's own
// lint, typecheck and manifest/mesh/Dockerfile/Tiltfile checks (run in the copy,
// where they derive the services from the workspaces), real Tilt evaluates it with
// live update, links and deps, its process serves under `npm run dev` with one trace
// across its --calls hop in a real Jaeger, and remove-service restores the copy byte
// for byte. The real-cluster part is test/cluster/new-service.test.ts.
import { execFile, type ExecFileException } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  derivePrometheusConfig,
  jaegerTrace,
  podTarget,
  promQuery,
  startJaeger,
  startPrometheus,
  type JaegerTrace,
  type RunningJaeger,
  type RunningTool,
} from './support/observability';
import { waitFor } from './support/ports';
import { copyRepository, type RepoCopy } from './support/repo-copy';
import { startService, stopAllServices } from './support/services';
import { tiltfileResult, type TiltfileResult } from './support/tilt';

const NAME = 'greeter';
let copy: RepoCopy;
const figures: Record<string, number> = {};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A command in the copy, with an environment free of the outer vitest's settings. */
function runIn(cwd: string, command: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_ENV' && key !== 'TEST')),
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error: ExecFileException | null, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const npm = (args: string[], timeoutMs?: number) => runIn(copy.root, 'npm', ['run', '--silent', ...args], timeoutMs);
const read = (file: string) => readFileSync(path.join(copy.root, file), 'utf8');

beforeAll(() => {
  const t0 = Date.now();
  copy = copyRepository();
  figures.copyMs = Date.now() - t0;
});

afterAll(async () => {
  await stopAllServices();
  console.log(`[new-service] figures: ${JSON.stringify(figures)}`);
  copy?.dispose();
});

describe('new-service refuses bad input with a clear message and writes nothing', () => {
  it.each([
    ['an invalid name', ['Bad_Name'], /invalid name "Bad_Name"/],
    ['an existing service', ['business-logic'], /a service named "business-logic" already exists/],
    ['a port already used', [NAME, '--port', '8081'], /--port 8081 is already used \(business-logic's port\)/],
    ['an unknown --calls target', [NAME, '--calls', 'billing'], /--calls billing: no such service/],
    ['an unknown --called-by caller', [NAME, '--called-by', 'billing'], /--called-by billing: no such service/],
  ])('%s', async (_, args, message) => {
    const run = await npm(['new-service', '--', ...args]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/refused, nothing written/);
    expect(run.stderr).toMatch(message);
    expect(copy.status()).toBe('');
  });

  it('--dry-run prints every file it would write and the edits, and writes nothing', async () => {
    const run = await npm(['new-service', '--', NAME, '--calls', 'business-logic', '--called-by', 'frontend', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    for (const file of [`services/${NAME}/package.json`, `services/${NAME}/src/app.ts`, `k8s/${NAME}.yaml`, `istio/mesh/${NAME}.yaml`]) {
      expect(run.stdout).toContain(`create ${file}`);
      expect(run.stdout).toContain(`--- ${file}`);
    }
    expect(run.stdout).toContain('edit   services/frontend/package.json');
    expect(run.stdout).toMatch(/^\+ +"greeter"$/m);
    expect(copy.status()).toBe('');
  });
});

describe('a generated service is a first-class member of the mesh', () => {
  beforeAll(async () => {
    const run = await npm(['new-service', '--', NAME, '--calls', 'business-logic', '--called-by', 'frontend']);
    figures.generateMs = run.ms;
    if (run.code !== 0) throw new Error(`new-service failed: ${run.stderr}`);
  });

  it('writes the service, its manifest and mesh file, and links it as a workspace (package.json, the lock, its caller)', () => {
    const changed = copy.status().split('\n').filter(Boolean).sort();
    expect(changed).toEqual(
      [
        ' M k8s/frontend.yaml',
        ' M package-lock.json',
        ' M package.json',
        ' M services/frontend/package.json',
        `?? istio/mesh/${NAME}.yaml`,
        `?? k8s/${NAME}.yaml`,
        `?? services/${NAME}/package.json`,
        `?? services/${NAME}/src/app.ts`,
        `?? services/${NAME}/src/config.ts`,
        `?? services/${NAME}/src/downstream-client.ts`,
        `?? services/${NAME}/src/server.ts`,
        `?? services/${NAME}/test/app.test.ts`,
        `?? services/${NAME}/test/config.test.ts`,
        `?? services/${NAME}/tsconfig.json`,
      ].sort(),
    );
    const pkg = JSON.parse(read(`services/${NAME}/package.json`)) as { scripts: Record<string, string>; meshloop: Record<string, unknown> };
    const frontend = JSON.parse(read('services/frontend/package.json')) as { scripts: Record<string, string>; meshloop: { calls: string[] } };
    // The frontend's dev script, with the inspector default moved to the new service's debugPort.
    expect(pkg.scripts.dev).toBe(frontend.scripts.dev!.replace('${DEBUG_PORT:-9229}', '${DEBUG_PORT:-9231}'));
    expect(pkg.scripts.test).toBe(`vitest run --root ../.. --project main services/${NAME}/test`);
    expect(pkg.meshloop).toEqual({ port: 8082, metricsPort: 9466, debugPort: 9231, calls: ['business-logic'] });
    expect(frontend.meshloop.calls).toEqual(['business-logic', NAME]);
    expect(read('package-lock.json')).toContain(`"node_modules/@meshloop/${NAME}": {\n      "resolved": "services/${NAME}",\n      "link": true`);
  });

  it('the copy passes lint and typecheck', async () => {
    const [lint, typecheck] = [await npm(['lint'], 15 * 60_000), await npm(['typecheck'], 15 * 60_000)];
    figures.lintMs = lint.ms;
    figures.typecheckMs = typecheck.ms;
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).toBe(0);
  }, 30 * 60_000);

  it("the copy passes the repository's manifest, mesh, Dockerfile and Tiltfile checks, and the service's own unit tests", async () => {
    const files = ['test/manifests.test.ts', 'test/mesh-security.test.ts', 'test/dockerfile.test.ts', 'test/tiltfile.test.ts', `services/${NAME}/test`];
    const vitest = path.join(copy.root, 'node_modules', '.bin', 'vitest');
    const run = await runIn(copy.root, vitest, ['run', '--project', 'main', '--reporter=verbose', ...files], 15 * 60_000);
    figures.checksMs = run.ms;
    const output = run.stdout + run.stderr;
    expect(run.code, output.slice(-8000)).toBe(0);
    expect(output).toMatch(/Test Files +6 passed \(6\)/);
    // The checks ran over the generated service too (their names carry it).
    for (const name of [
      `from the workspaces: frontend -> ${NAME}:8082 is allowed`,
      `from the workspaces: business-logic -> ${NAME}:8082 is denied`,
      `from the workspaces: ingress gateway -> ${NAME}:8082 is denied`,
      `from the workspaces: ${NAME} -> business-logic:8081 is allowed`,
      `from the workspaces: Prometheus (no sidecar) -> ${NAME}:9466 is allowed`,
      `from the workspaces: frontend -> ${NAME}:9466 is denied`,
      `k8s/${NAME}.yaml is a ServiceAccount, Service and Deployment sharing one name and image`,
      `frontend reaches every service its package.json "meshloop" calls names through that Service`,
      `service ${NAME} > live-updates`,
      `starts ${NAME} after the services it calls`,
      `every file the Dockerfile copies for ${NAME} exists`,
    ]) {
      expect(output).toContain(name);
    }
  }, 20 * 60_000);

  describe('real Tilt evaluates the copy', () => {
    let cluster: TiltfileResult;
    let local: TiltfileResult;
    // tiltfile-result paths are relative to the evaluated Tiltfile's folder, here the copy.
    const inCopy = (p: string) => p;
    beforeAll(async () => {
      const tiltfile = path.join(copy.root, 'Tiltfile');
      [cluster, local] = [await tiltfileResult({ tiltfile }), await tiltfileResult({ tiltfile, args: ['--local'] })];
    });

    it('cluster mode: an image with live update, the manifest after the mesh, a Jaeger link, its mesh objects in mesh-config', () => {
      const service = cluster.resource(NAME);
      expect(service.labels).toEqual(['services']);
      expect(service.resourceDeps.sort()).toEqual(['istio', 'mesh-config', 'namespace']);
      expect(service.links).toEqual([{ url: `http://localhost:16686/search?service=${NAME}`, name: `Jaeger: ${NAME} traces` }]);
      const [image] = service.images;
      expect(image?.buildArgs).toEqual({ SERVICE: NAME });
      expect(image?.liveUpdate.syncs).toContainEqual({ local: inCopy(`services/${NAME}/src`), remote: `/app/services/${NAME}/src` });
      expect(image?.liveUpdate.fallBackOn).toContain(inCopy(`services/${NAME}/package.json`));
      expect(service.yaml).toContain(`kind: Deployment`);
      // The other services' images now take its package.json into their build context (npm ci needs every workspace).
      expect(cluster.resource('business-logic').images[0]?.only).toContain(inCopy(`services/${NAME}/package.json`));
      for (const object of [`name: ${NAME}-from-callers`, `name: business-logic-from-${NAME}`, `name: ${NAME}-metrics`, `name: ${NAME}-ingress`]) {
        expect(cluster.resource('mesh-config').yaml).toContain(object);
      }
    });

    it('local mode: served on its own port after business-logic, with links, and the frontend gets its URL and waits for it', () => {
      const service = local.resource(NAME);
      expect(service.serveCmd).toEqual(['sh', '-c', `npm run dev -w @meshloop/${NAME}`]);
      expect(service.serveEnv).toMatchObject({ PORT: '8082', METRICS_PORT: '9466', DEBUG_PORT: '9231', BUSINESS_LOGIC_URL: 'http://localhost:8081' });
      expect(service.readinessHttpGet).toEqual({ port: 8082, path: '/readyz' });
      expect(service.links.map((l) => l.url)).toEqual(['http://localhost:8082/', 'http://localhost:9466/metrics', 'http://localhost:9231/json/list']);
      expect(service.resourceDeps).toEqual(['business-logic']);
      expect(local.resource('frontend').resourceDeps.sort()).toEqual(['business-logic', NAME]);
      expect(local.resource('frontend').serveEnv?.GREETER_URL).toBe('http://localhost:8082');
    });
  });

  describe('under npm run dev, with the same telemetry as the other services', () => {
    let jaeger: RunningJaeger;
    let prometheus: RunningTool | undefined;
    let greeterMetricsUrl = '';
    afterAll(async () => {
      await stopAllServices();
      await prometheus?.stop();
      await jaeger?.stop();
    });

    it('one request to its example route is one trace in a real Jaeger across the --calls hop, and its RED histogram counts it', async () => {
      jaeger = await startJaeger();
      const telemetry = { OTEL_EXPORTER_ZIPKIN_ENDPOINT: jaeger.zipkinUrl };
      const businessLogic = await startService('business-logic', { dir: path.join(copy.root, 'services', 'business-logic'), env: telemetry });
      const t0 = Date.now();
      // Exactly what Tilt's local mode runs: the workspace's dev script, from the root.
      const greeter = await startService(NAME, {
        dir: path.join(copy.root, 'services', NAME),
        env: { ...telemetry, BUSINESS_LOGIC_URL: businessLogic.url },
        wrap: () => ['sh', ['-c', `cd '${copy.root}' && exec npm run --silent dev -w @meshloop/${NAME}`]],
        readyTimeoutMs: 60_000,
      });
      figures.devReadyMs = Date.now() - t0;

      const response = await fetch(`${greeter.url}/hello`);
      const body = (await response.json()) as { service: string; traceId: string; downstream: Record<string, { service: string; traceId: string }> };
      expect(response.status).toBe(200);
      expect(body.service).toBe(NAME);
      expect(body.downstream['business-logic']?.traceId).toBe(body.traceId);

      const trace = await waitFor(`trace ${body.traceId} with both services in Jaeger`, async () => {
        const found: JaegerTrace | undefined = await jaegerTrace(jaeger.url, body.traceId);
        const services = new Set(Object.values(found?.processes ?? {}).map((p) => p.serviceName));
        return found && services.has(NAME) && services.has('business-logic') && found.spans.length >= 4 ? found : undefined;
      }, 30_000, 250);
      const serviceOf = (span: JaegerTrace['spans'][number]) => trace.processes[span.processID]?.serviceName;
      const kindOf = (span: JaegerTrace['spans'][number]) => span.tags.find((t) => t.key === 'span.kind')?.value;
      const client = trace.spans.find((s) => serviceOf(s) === NAME && kindOf(s) === 'client');
      const callee = trace.spans.find((s) => serviceOf(s) === 'business-logic' && kindOf(s) === 'server');
      expect(client, `${NAME}'s client span`).toBeDefined();
      expect(callee?.references.find((r) => r.refType === 'CHILD_OF')?.spanID, "business-logic's server span is a child of the client span").toBe(client!.spanID);

      const metrics = await (await fetch(greeter.metricsUrl)).text();
      expect(metrics).toMatch(/http_server_request_duration_seconds_count\{method="GET",route="\/hello",status_code="200"\} 1/);
      greeterMetricsUrl = greeter.metricsUrl;
    }, 180_000);

    it("real Prometheus, on the unchanged scrape config, labels its series service=greeter, which the Grafana dashboard's service variable lists", async () => {
      expect(copy.status()).not.toMatch(/observability\//);
      // Its pod as Kubernetes pod discovery presents it: the scrape job keeps the port named http-metrics.
      const pod = podTarget({
        address: new URL(greeterMetricsUrl).host,
        namespace: 'meshloop',
        name: `${NAME}-7d9f8b6c5-q2w4e`,
        labels: { app: NAME, version: 'v1' },
        container: NAME,
        portName: 'http-metrics',
      });
      prometheus = await startPrometheus(derivePrometheusConfig({ scrapeInterval: '1s', dropJobsWithoutTargets: true, targets: { 'meshloop-services': [pod] } }).yaml);
      await waitFor('its RED histogram in Prometheus', async () => {
        const series = await promQuery(prometheus!.url, `http_server_request_duration_seconds_count{service="${NAME}",route="/hello"}`);
        return series.length > 0 ? true : undefined;
      }, 30_000, 250);
      // The dashboard's variable query, run the way Grafana's Prometheus data source runs label_values(metric, label).
      const dashboard = JSON.parse(read('observability/grafana/dashboards/service-red.json')) as { templating: { list: Array<{ name: string; query: { query: string } }> } };
      const query = dashboard.templating.list.find((v) => v.name === 'service')?.query.query;
      const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(query ?? '') ?? [];
      expect(metric, `service variable query ${query}`).toBeDefined();
      const values = (await (await fetch(`${prometheus.url}/api/v1/label/${label}/values?match[]=${metric}`)).json()) as { data: string[] };
      expect(values.data).toContain(NAME);
    }, 120_000);
  });

  it('remove-service --dry-run lists what it would undo and changes nothing', async () => {
    const before = copy.status();
    const run = await npm(['remove-service', '--', NAME, '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`delete services/${NAME}`);
    expect(run.stdout).toContain(`delete istio/mesh/${NAME}.yaml`);
    expect(copy.status()).toBe(before);
    expect(before).not.toBe('');
  });

  it('remove-service restores the copy byte for byte (sources, manifests, mesh, package.json, the lock, the caller)', async () => {
    const run = await npm(['remove-service', '--', NAME]);
    figures.removeMs = run.ms;
    expect(run.code, run.stderr).toBe(0);
    expect(copy.status()).toBe('');
  });
});
