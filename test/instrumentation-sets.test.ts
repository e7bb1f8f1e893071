import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { startService, stopAllServices } from './support/services';
import { ZipkinSink } from './support/telemetry-sinks';

/**
 * MESHLOOP_INSTRUMENTATIONS=all swaps the four chosen instrumentation packages
 * for the whole auto-instrumentations bundle (NodeSDK). The switch must give
 * the same trace, without the noisy fs/dns/net spans the bundle would add.
 */
describe('MESHLOOP_INSTRUMENTATIONS=all', () => {
  const zipkin = new ZipkinSink();
  beforeAll(() => zipkin.start());
  afterAll(async () => {
    await stopAllServices();
    await zipkin.stop();
  });

  it('business-logic still produces the server, express and data-transformation spans, and no fs/dns/net spans', async () => {
    const service = await startService('business-logic', {
      env: { MESHLOOP_INSTRUMENTATIONS: 'all', OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.url },
    });
    const { traceId } = (await (await fetch(`${service.url}/slow?delayMs=10`)).json()) as { traceId: string };
    const spans = await waitFor('3 spans', () => {
      const found = zipkin.trace(traceId);
      return found.length >= 3 ? found : undefined;
    });
    expect(spans.some((s) => s.kind === 'SERVER')).toBe(true);
    expect(spans.some((s) => s.name.includes('request handler'))).toBe(true);
    expect(spans.some((s) => s.name === 'data-transformation')).toBe(true);
    expect(spans.filter((s) => /^(fs|dns|tcp|net)\b/i.test(s.name))).toEqual([]);
  });
});
