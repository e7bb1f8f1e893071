// Both services' `dev` and `prod` images, built from services/Dockerfile by a
// real Docker engine (Debian's dockerd, test/support/docker.ts) on the locally
// built node:22-bookworm-slim, and run as containers: user, PID 1, SIGTERM,
// read-only root, probes, file ownership, and one trace across two containers
// on a Docker network reaching a real Jaeger (tools/jaeger) in a third.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildServiceImage,
  docker,
  fetchWithin,
  dockerAsync,
  removeLabelled,
  runContainer,
  testLabel,
  type Container,
  type ServiceName,
  type ServiceTarget,
} from '../support/docker';
import { jaegerTrace, type JaegerTrace } from '../support/observability';
import { waitFor } from '../support/ports';
import { repoRoot, toolPath } from '../support/tools';

const label = testLabel('service-images');
// A container start includes a cold tsx/Node start (dev: ~10 s under load).
const testTimeout = 120_000;
const ports: Record<ServiceName, { port: number; metrics: number }> = {
  frontend: { port: 8080, metrics: 9464 },
  'business-logic': { port: 8081, metrics: 9465 },
};
const images = new Map<string, string>();
const variants: Array<[ServiceName, ServiceTarget]> = [
  ['business-logic', 'dev'],
  ['business-logic', 'prod'],
  ['frontend', 'dev'],
  ['frontend', 'prod'],
];

function image(service: ServiceName, target: ServiceTarget): string {
  const tag = images.get(`${service}:${target}`);
  if (!tag) throw new Error(`image ${service}:${target} was not built`);
  return tag;
}

/** Runs a service image with its contract ports published on 127.0.0.1; waits for /readyz. */
async function start(service: ServiceName, target: ServiceTarget, options: { readOnly?: boolean; env?: Record<string, string>; network?: string } = {}): Promise<Container> {
  const { port, metrics } = ports[service];
  const container = runContainer(image(service, target), {
    label,
    ports: [port, metrics],
    readOnly: options.readOnly,
    network: options.network,
    alias: options.network ? service : undefined,
    env: { LOG_LEVEL: 'info', ...options.env },
  });
  try {
    await waitFor(`${service} ${target} /readyz`, async () => ((await fetchWithin(`${container.url(port)}/readyz`)).ok ? true : undefined), 60_000, 200);
  } catch (error) {
    const logs = container.logs();
    container.remove();
    throw new Error(`${service} ${target} did not become ready: ${String(error)}\n--- container log ---\n${logs}`, { cause: error });
  }
  return container;
}

/** uid of every process in the container, and PID 1's program, from /proc inside it. */
function processes(container: Container): { pid1: string; uids: string[] } {
  const out = docker(['exec', container.id, 'sh', '-c', 'cat /proc/1/comm; for s in /proc/[0-9]*/status; do sed -n "s/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p" "$s"; done']);
  const [pid1 = '', ...uids] = out.split('\n').map((line) => line.trim()).filter(Boolean);
  return { pid1, uids };
}

beforeAll(() => {
  removeLabelled(label);
  // Cold: ~1-2 min per target on 2 cores (npm ci in the build); warm: seconds.
  for (const [service, target] of variants) images.set(`${service}:${target}`, buildServiceImage(service, target));
}, 30 * 60_000);

afterAll(() => {
  removeLabelled(label);
});

describe.each(variants)('the %s %s image', (service, target) => {
  it('runs as the non-root user node (uid 1000) under tini as PID 1, and answers its probes and metrics', async () => {
    const container = await start(service, target);
    try {
      const { pid1, uids } = processes(container);
      expect(pid1).toBe('tini');
      expect(uids.length).toBeGreaterThanOrEqual(2); // tini and node at least
      expect(new Set(uids)).toEqual(new Set(['1000']));
      const { port, metrics } = ports[service];
      const livez = await fetchWithin(`${container.url(port)}/livez`);
      expect(livez.status).toBe(200);
      expect(await livez.json()).toEqual({ status: 'ok' });
      expect((await fetchWithin(`${container.url(port)}/readyz`)).status).toBe(200);
      const scraped = await fetchWithin(`${container.url(metrics)}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('process_cpu_seconds_total');
    } finally {
      container.remove();
    }
  }, testTimeout);

  it('exits 0 within 4 s of SIGTERM (docker stop)', async () => {
    const container = await start(service, target);
    try {
      const started = Date.now();
      const stopped = await dockerAsync(['stop', '--time', '10', container.id]);
      const elapsed = Date.now() - started;
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(docker(['inspect', '--format', '{{.State.ExitCode}}', container.id])).toBe('0');
      expect(elapsed, container.logs()).toBeLessThan(4000);
    } finally {
      container.remove();
    }
  }, testTimeout);
});

describe.each(['dev', 'prod'] as const)('business-logic %s under SIGTERM', (target) => {
  it('finishes an in-flight /slow request with 200, then exits 0 within 4 s', async () => {
    const container = await start('business-logic', target);
    try {
      const url = container.url(ports['business-logic'].port);
      const inFlight = fetchWithin(`${url}/slow?delayMs=1500`, 15_000).then(async (response) => ({ status: response.status, body: (await response.json()) as { endpoint?: string } }));
      // Let the request reach the server before the signal (300 ms is ample
      // over loopback; its 1.5 s delay keeps it in flight well past that).
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      const kill = await dockerAsync(['kill', '--signal', 'TERM', container.id]);
      expect(kill.code, kill.stderr).toBe(0);
      const exited = await dockerAsync(['wait', container.id], { timeoutMs: 15_000 });
      const elapsed = Date.now() - started;
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.body.endpoint).toBe('slow');
      expect(exited.stdout).toBe('0');
      expect(elapsed, container.logs()).toBeLessThan(4000);
    } finally {
      container.remove();
    }
  }, testTimeout);
});

describe.each(['frontend', 'business-logic'] as const)('the %s prod image', (service) => {
  it('runs with a read-only root filesystem (--read-only, no writable mount) and serves', async () => {
    const container = await start(service, 'prod', { readOnly: true });
    try {
      expect(docker(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container.id])).toBe('true');
      const { port, metrics } = ports[service];
      if (service === 'business-logic') {
        const fast = await fetchWithin(`${container.url(port)}/fast`);
        expect(fast.status).toBe(200);
      } else {
        // No business-logic here: the frontend still serves its page and says the downstream is unreachable.
        expect((await fetchWithin(`${container.url(port)}/`)).status).toBe(200);
        expect((await fetchWithin(`${container.url(port)}/api/fast`)).status).toBe(503);
      }
      expect((await fetchWithin(`${container.url(metrics)}/metrics`)).status).toBe(200);
      expect(docker(['inspect', '--format', '{{.State.Running}}', container.id])).toBe('true');
    } finally {
      container.remove();
    }
  }, testTimeout);

  it('gives the app user no way to create, replace or delete anything under /app (root owns /app and every folder in it)', async () => {
    const container = await start(service, 'prod');
    try {
      const notRoot = docker(['exec', container.id, 'find', '/app', '!', '-user', 'root']);
      expect(notRoot).toBe('');
      const attempts = [
        ['touch', '/app/created-by-app'],
        ['mkdir', '/app/services/created-by-app'],
        ['rm', '-f', '/app/package.json'],
        ['mv', `/app/services/${service}/dist/server.js`, '/app/server.js'],
        ['sh', '-c', `echo x > /app/services/${service}/dist/server.js`],
      ];
      for (const attempt of attempts) {
        const result = await dockerAsync(['exec', '--user', 'node', container.id, ...attempt]);
        expect(result.code, `${attempt.join(' ')} as node`).not.toBe(0);
        expect(result.stderr).toMatch(/Permission denied/);
      }
      expect(docker(['exec', container.id, 'ls', '/app'])).not.toContain('created-by-app');
    } finally {
      container.remove();
    }
  }, testTimeout);
});

describe('frontend -> business-logic across a Docker network', () => {
  const network = `meshloop-test-${process.pid}`;
  let jaeger: Container;
  let frontend: Container;
  let businessLogic: Container;

  beforeAll(async () => {
    // Real Jaeger (built from tools/jaeger) with the project's own config
    // file, unchanged: in its own container the listen addresses are as in
    // the cluster. It runs in the locally built minbase image.
    const binary = toolPath('jaeger');
    docker(['network', 'create', '--label', label, network]);
    jaeger = runContainer('meshloop.local/debian:bookworm-minbase', {
      label,
      network,
      alias: 'jaeger',
      ports: [16686, 13133],
      readOnly: true,
      flags: [
        '--user', '65534:65534',
        '-v', `${binary}:/usr/local/bin/jaeger:ro`,
        '-v', `${path.join(repoRoot, 'observability/jaeger/config.yaml')}:/etc/jaeger/config.yaml:ro`,
      ],
      command: ['/usr/local/bin/jaeger', '--config', '/etc/jaeger/config.yaml'],
    });
    await waitFor('jaeger health check', async () => ((await fetchWithin(`${jaeger.url(13133)}/status`)).ok ? true : undefined), 60_000, 250).catch((error: unknown) => {
      throw new Error(`jaeger did not start: ${String(error)}\n${jaeger.logs()}`, { cause: error });
    });
    const zipkin = { OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://jaeger:9411/api/v2/spans' };
    businessLogic = await start('business-logic', 'prod', { readOnly: true, network, env: zipkin });
    frontend = await start('frontend', 'prod', { readOnly: true, network, env: { ...zipkin, BUSINESS_LOGIC_URL: 'http://business-logic:8081' } });
  }, 10 * 60_000);

  afterAll(() => {
    for (const container of [frontend, businessLogic, jaeger]) container?.remove();
    docker(['network', 'rm', network]);
  });

  it('one request gives ONE trace in Jaeger with spans from both containers, business-logic server span a child of the frontend client span', async () => {
    const response = await fetchWithin(`${frontend.url(8080)}/api/slow?delayMs=50`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { traceId: string; hostname: string; downstream?: { traceId?: string; hostname?: string } };
    expect(body.downstream?.traceId).toBe(body.traceId);
    // The two answers come from the two containers (their hostnames are their short ids).
    expect(frontend.id.startsWith(body.hostname)).toBe(true);
    expect(businessLogic.id.startsWith(body.downstream?.hostname ?? '-')).toBe(true);

    const trace = await waitFor<JaegerTrace>(`trace ${body.traceId} with spans of both services in Jaeger`, async () => {
      const found = await jaegerTrace(jaeger.url(16686), body.traceId);
      const services = new Set(Object.values(found?.processes ?? {}).map((p) => p.serviceName));
      return found && services.has('frontend') && services.has('business-logic') && found.spans.length >= 5 ? found : undefined;
    }, 30_000, 250);
    expect(new Set(trace.spans.map((span) => span.traceID))).toEqual(new Set([body.traceId]));
    const serviceOf = (processID: string) => trace.processes[processID]?.serviceName;
    const kind = (span: (typeof trace.spans)[number]) => span.tags.find((tag) => tag.key === 'span.kind')?.value;
    const client = trace.spans.find((span) => serviceOf(span.processID) === 'frontend' && kind(span) === 'client');
    const server = trace.spans.find((span) => serviceOf(span.processID) === 'business-logic' && kind(span) === 'server');
    expect(client, 'frontend client span').toBeDefined();
    expect(server, 'business-logic server span').toBeDefined();
    expect(server!.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID).toBe(client!.spanID);
    expect(trace.spans.some((span) => span.operationName === 'data-transformation')).toBe(true);
  }, testTimeout);

  it('publishes the ports of all three containers on 127.0.0.1 only', () => {
    for (const container of [frontend, businessLogic, jaeger]) {
      const bindings = JSON.parse(docker(['inspect', '--format', '{{json .NetworkSettings.Ports}}', container.id])) as Record<string, Array<{ HostIp: string }> | null>;
      const hostIps = Object.values(bindings).flatMap((list) => (list ?? []).map((binding) => binding.HostIp));
      expect(hostIps.length).toBeGreaterThan(0);
      expect(new Set(hostIps)).toEqual(new Set(['127.0.0.1']));
    }
  }, testTimeout);
});
