// The TypeScript of a generated service (services/<name>/): the same layout as
// business-logic and frontend, on @meshloop/service-runtime, with one example route.
import type { MeshService } from './workspace';
import { urlVariable } from './workspace';

/** What the templates need to know about a callee. */
export interface Callee {
  service: MeshService;
  /** Path the example route calls (the callee's first GET route). */
  examplePath: string;
}

export interface ServiceSpec {
  name: string;
  port: number;
  metricsPort: number;
  callees: Callee[];
}

/** The route every generated service starts with; the callees' examplePath of a generated service. */
export const EXAMPLE_PATH = '/hello';

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function pascalCase(name: string): string {
  const camel = camelCase(name);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}

const urlField = (callee: string) => `${camelCase(callee)}Url`;
const localUrl = (c: Callee) => `http://localhost:${c.service.port}`;

export function renderConfig(spec: ServiceSpec): string {
  const type = `${pascalCase(spec.name)}Config`;
  const fields = spec.callees.map(
    (c) => `  /** Base URL of ${c.service.name} (${urlVariable(c.service.name)}; in the cluster its Service, see k8s/${spec.name}.yaml). */\n  ${urlField(c.service.name)}: string;\n`,
  );
  const reads = spec.callees.map((c) => `    ${urlField(c.service.name)}: reader.url('${urlVariable(c.service.name)}', '${localUrl(c)}'),\n`);
  const timeout = spec.callees.length > 0;
  return `import { EnvReader, readProcessConfig, type Env, type ProcessConfig } from '@meshloop/service-runtime';

export interface ${type} extends ProcessConfig {
${fields.join('')}${timeout ? '  /** One call to a service this one calls; past it the answer is 504. */\n  downstreamTimeoutMs: number;\n' : '  // Add your own settings here (and to docs/service-contract.md).\n'}}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: Env = process.env): ${type} {
  const reader = new EnvReader(env);
  const config: ${type} = {
    ...readProcessConfig(reader, env, { port: ${spec.port}, metricsPort: ${spec.metricsPort} }),
${reads.join('')}${timeout ? "    downstreamTimeoutMs: reader.integer('DOWNSTREAM_TIMEOUT_MS', 5000, { min: 1, max: 60_000 }),\n" : ''}  };
  reader.done();
  return config;
}
`;
}

export function renderServer(): string {
  return `/** The process: config, listen, signals, shutdown (all in service-runtime's runService). */
import { runService } from '@meshloop/service-runtime';
import { createApp } from './app';
import { loadConfig } from './config';

runService(loadConfig, createApp);
`;
}

/**
 * The service's calls to others, on service-runtime's DownstreamClient (the frontend's
 * business-logic client is the same class): a two-argument get for the generated code.
 */
export function renderDownstreamClient(): string {
  return `import { DownstreamClient as ServiceClient } from '@meshloop/service-runtime';

/**
 * GETs JSON from a service this one calls, through service-runtime's client: a timeout
 * on every call, and a bad answer -> 502, unreachable -> 503, too slow -> 504. Trace
 * context is injected by the undici instrumentation: one hop of the same trace.
 */
export class DownstreamClient {
  private readonly client: ServiceClient;

  constructor(name: string, baseUrl: string, timeoutMs: number) {
    this.client = new ServiceClient(name, baseUrl, timeoutMs);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    return this.client.get({ path, headers });
  }
}
`;
}

export function renderApp(spec: ServiceSpec): string {
  const type = pascalCase(spec.name);
  const hasCallees = spec.callees.length > 0;
  const configFields = ["'service'", ...spec.callees.map((c) => `'${urlField(c.service.name)}'`), ...(hasCallees ? ["'downstreamTimeoutMs'"] : [])];
  const clients = spec.callees.map(
    (c) => `  const ${camelCase(c.service.name)} = new DownstreamClient('${c.service.name}', config.${urlField(c.service.name)}, config.downstreamTimeoutMs);\n`,
  );
  const calls = spec.callees.map(
    (c) => `        '${c.service.name}': await ${camelCase(c.service.name)}.get('${c.examplePath}', { 'x-request-id': req.id }),\n`,
  );
  return `import { trace } from '@opentelemetry/api';
import type { Express } from 'express';
import { createServiceApp, type ServiceAppDeps } from '@meshloop/service-runtime';
import type { ${type}Config } from './config';
${hasCallees ? "import { DownstreamClient } from './downstream-client';\n" : ''}
export interface ${type}Deps extends ServiceAppDeps {
  config: Pick<${type}Config, ${configFields.join(' | ')}>;
}

/** The routes of ${spec.name}. Probes, metrics, access logs, 404 and errors come from createServiceApp. */
export function createApp({ config, ...deps }: ${type}Deps): Express {
${clients.join('')}  return createServiceApp(deps, (app) => {
    // The example route: replace it with your business code.
    app.get('${EXAMPLE_PATH}', ${hasCallees ? 'async ' : ''}(req, res) => {
${hasCallees ? `      // One call per service this one calls: each is a hop of the same trace.\n      const downstream = {\n${calls.join('')}      };\n` : ''}      res.json({
        service: config.service.name,
        version: config.service.version,
        hostname: config.service.hostname,
        traceId: trace.getActiveSpan()?.spanContext().traceId,
        requestId: req.id,
        message: 'hello from ${spec.name}',${hasCallees ? '\n        downstream,' : ''}
      });
    });
  });
}
`;
}

export function renderAppTest(spec: ServiceSpec): string {
  const hasCallees = spec.callees.length > 0;
  const fakeCallees = spec.callees.map(
    (c) => `    const ${camelCase(c.service.name)} = await fakeCallee('${c.service.name}', '${c.examplePath}');\n`,
  );
  const configUrls = spec.callees.map((c) => `${urlField(c.service.name)}: ${camelCase(c.service.name)}.url`).join(', ');
  const deadUrls = spec.callees.map((c) => `${urlField(c.service.name)}: 'http://127.0.0.1:1'`).join(', ');
  return `import { afterEach, describe, expect, it } from 'vitest';
${hasCallees ? "import { createServiceApp } from '@meshloop/service-runtime';\n" : ''}import { appDeps, listen } from '../../../test/support/app-deps';
import { createApp } from '../src/app';

describe('${spec.name} app', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
${
  hasCallees
    ? `
  /** A stand-in for a service this one calls: answers its example path with who it is. */
  async function fakeCallee(name: string, path: string) {
    const app = createServiceApp(appDeps(name), (a) => {
      a.get(path, (req, res) => {
        res.json({ service: name, requestId: req.headers['x-request-id'] });
      });
    });
    const server = await listen(app);
    closers.push(server.close);
    return server;
  }
`
    : ''
}
  async function serve(${hasCallees ? `urls: { ${spec.callees.map((c) => `${urlField(c.service.name)}: string`).join('; ')} }` : ''}) {
    const deps = appDeps('${spec.name}');
    const app = createApp({ ...deps, config: { service: deps.service${hasCallees ? ', ...urls, downstreamTimeoutMs: 2000' : ''} } });
    const server = await listen(app);
    closers.push(server.close);
    const get = async (path: string) => {
      const response = await fetch(\`\${server.url}\${path}\`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    return { get, deps };
  }

  it('GET ${EXAMPLE_PATH} answers who served it${hasCallees ? ' and what the services it calls answered' : ''}', async () => {
${fakeCallees.join('')}    const { get } = await serve(${hasCallees ? `{ ${configUrls} }` : ''});
    const { status, body } = await get('${EXAMPLE_PATH}');
    expect(status).toBe(200);
    expect(body).toMatchObject({ service: '${spec.name}', version: 'v1', hostname: 'test-host', message: 'hello from ${spec.name}' });
${spec.callees.map((c) => `    expect(body.downstream).toMatchObject({ '${c.service.name}': { service: '${c.service.name}', requestId: body.requestId } });\n`).join('')}  });
${
  hasCallees
    ? `
  it('a service it calls being unreachable is a JSON 503 naming it', async () => {
    const { get } = await serve({ ${deadUrls} });
    const { status, body } = await get('${EXAMPLE_PATH}');
    expect(status).toBe(503);
    expect(body).toMatchObject({ error: 'service_unavailable', message: expect.stringContaining('${spec.callees[0]!.service.name} is unreachable') });
  });
`
    : ''
}
  it('/livez and /readyz answer 200; /readyz turns 503 once shutdown begins', async () => {
    const { get, deps } = await serve(${hasCallees ? `{ ${deadUrls} }` : ''});
    expect((await get('/livez')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    deps.readiness.markShuttingDown();
    expect((await get('/readyz')).status).toBe(503);
  });

  it('an unknown path is a JSON 404', async () => {
    const { get } = await serve(${hasCallees ? `{ ${deadUrls} }` : ''});
    expect(await get('/nope')).toEqual({ status: 404, body: { error: 'not_found', message: 'no route for GET /nope' } });
  });
});
`;
}

export function renderConfigTest(spec: ServiceSpec): string {
  const defaults = [
    `port: ${spec.port}`,
    `metricsPort: ${spec.metricsPort}`,
    ...spec.callees.map((c) => `${urlField(c.service.name)}: '${localUrl(c)}'`),
  ];
  return `import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';

describe('${spec.name} config', () => {
  it('has the ports of its package.json "meshloop" block as defaults', () => {
    expect(loadConfig({})).toMatchObject({ ${defaults.join(', ')} });
  });

  it.each([
    ['PORT', '65536'],
    ['METRICS_PORT', 'http'],
${spec.callees.map((c) => `    ['${urlVariable(c.service.name)}', '${c.service.name}:${c.service.port}'],\n`).join('')}  ])('%s=%s is rejected by name', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
`;
}
