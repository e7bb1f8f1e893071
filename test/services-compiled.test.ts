import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { startServices, stopAllServices, type RunningServices } from './support/services';
import { ZipkinSink } from './support/telemetry-sinks';
import { repoRoot } from './support/tools';

/**
 * The production path (what the `prod` image runs): compiled CommonJS in
 * dist/, telemetry preloaded with `node --import`. It must instrument express
 * exactly like the tsx dev path does.
 */
describe('compiled services (npm start)', () => {
  const zipkin = new ZipkinSink();
  let services: RunningServices;

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore', timeout: 180_000 });
    await zipkin.start();
    services = await startServices({ mode: 'start', env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.url } });
  }, 240_000);

  afterAll(async () => {
    await stopAllServices();
    await zipkin.stop();
  });

  it('one /api/slow request is one trace with the express span and data-transformation, from dist/', async () => {
    const response = await fetch(`${services.frontendUrl}/api/slow?delayMs=10`);
    expect(response.status).toBe(200);
    const { traceId } = (await response.json()) as { traceId: string };
    const spans = await waitFor('5 spans', () => {
      const found = zipkin.trace(traceId);
      return found.length >= 5 ? found : undefined;
    });
    expect(spans.some((s) => s.localEndpoint?.serviceName === 'frontend' && s.name.includes('request handler'))).toBe(true);
    expect(spans.some((s) => s.localEndpoint?.serviceName === 'business-logic' && s.name === 'data-transformation')).toBe(true);
    expect(services.frontend.output()).not.toMatch(/tsx/);
  });

  it('serves the landing page from dist/public', async () => {
    const html = await (await fetch(`${services.frontendUrl}/`)).text();
    expect(html).toContain('>Fast page</button>');
  });
});
