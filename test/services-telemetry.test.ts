import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices, stopAllServices, type RunningServices } from './support/services';
import { OtlpLogsSink, ZipkinSink, type ZipkinSpan } from './support/telemetry-sinks';
import { waitFor } from './support/ports';

/**
 * Both services as real processes started by their `dev` script (tsx watch
 * with the telemetry preload), exporting to in-test Zipkin and OTLP receivers.
 */
describe('one request becomes one trace, counted in metrics and found in logs', () => {
  const zipkin = new ZipkinSink();
  const otlpLogs = new OtlpLogsSink();
  let services: RunningServices;

  beforeAll(async () => {
    await Promise.all([zipkin.start(), otlpLogs.start()]);
    services = await startServices({
      env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: zipkin.url, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: otlpLogs.url },
    });
  });

  afterAll(async () => {
    await stopAllServices();
    await Promise.all([zipkin.stop(), otlpLogs.stop()]);
  });

  async function get(path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${services.frontendUrl}${path}`, { headers });
    const body = (await response.json()) as { traceId: string; downstream?: { traceId?: string } };
    return { status: response.status, body };
  }

  /** Waits until the trace has at least `count` spans (exports are batched every second). */
  function traceSpans(traceId: string, count: number): Promise<ZipkinSpan[]> {
    return waitFor(`${count} spans of trace ${traceId}`, () => {
      const spans = zipkin.trace(traceId);
      return spans.length >= count ? spans : undefined;
    });
  }

  it('a request to /api/slow yields ONE trace: frontend server, express, client span, business-logic server span (child of the client span), data-transformation', async () => {
    const { status, body } = await get('/api/slow?delayMs=50');
    expect(status).toBe(200);
    expect(body.downstream?.traceId).toBe(body.traceId);

    const spans = await traceSpans(body.traceId, 5);
    const byService = (service: string) => spans.filter((s) => s.localEndpoint?.serviceName === service);
    const frontendServer = byService('frontend').find((s) => s.kind === 'SERVER');
    const express = byService('frontend').find((s) => s.name.includes('request handler'));
    const client = byService('frontend').find((s) => s.kind === 'CLIENT');
    const businessServer = byService('business-logic').find((s) => s.kind === 'SERVER');
    const transformation = byService('business-logic').find((s) => s.name === 'data-transformation');

    expect(frontendServer, 'frontend http server span').toBeDefined();
    expect(express, 'express request handler span: CommonJS instrumentation works').toBeDefined();
    expect(client, 'frontend http client span').toBeDefined();
    expect(businessServer, 'business-logic server span').toBeDefined();
    expect(transformation, 'data-transformation span').toBeDefined();
    expect(frontendServer!.parentId).toBeUndefined();
    expect(client!.parentId).toBeDefined();
    expect(businessServer!.parentId).toBe(client!.id);
    // data-transformation runs inside business-logic's express handler span
    const businessHandler = spans.find((s) => s.id === transformation!.parentId);
    expect(businessHandler?.localEndpoint?.serviceName).toBe('business-logic');
    expect(businessHandler?.parentId).toBe(businessServer!.id);
    expect(transformation!.tags?.['work.delay_ms']).toBe('50');
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([body.traceId]));
  });

  it('the exporter marks its own POSTs x-b3-sampled: 0 so Istio sidecars do not trace them', async () => {
    await waitFor('an export', () => (zipkin.received.headers.length > 0 ? true : undefined));
    for (const headers of zipkin.received.headers) expect(headers['x-b3-sampled']).toBe('0');
  });

  it('a request carrying B3 multi headers continues that trace', async () => {
    const traceId = 'a3ce929d0e0e47364bf92f3577b34da6';
    const { status, body } = await get('/api/fast', { 'x-b3-traceid': traceId, 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': '1' });
    expect(status).toBe(200);
    expect(body.traceId).toBe(traceId);
    expect(body.downstream?.traceId).toBe(traceId);
    const spans = await traceSpans(traceId, 3);
    expect(spans.find((s) => s.kind === 'SERVER' && s.localEndpoint?.serviceName === 'frontend')?.parentId).toBe('00f067aa0ba902b7');
  });

  it('a request carrying a W3C traceparent continues that trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { status, body } = await get('/api/fast', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(status).toBe(200);
    expect(body.traceId).toBe(traceId);
    expect(body.downstream?.traceId).toBe(traceId);
  });

  it.each([
    ['a malformed traceparent', { traceparent: '00-not-a-trace-01' }],
    ['an all-zero traceparent', { traceparent: '00-00000000000000000000000000000000-0000000000000000-01' }],
    ['malformed x-b3 headers', { 'x-b3-traceid': 'xyz', 'x-b3-spanid': '12', 'x-b3-sampled': 'maybe' }],
    ['a malformed single b3 header', { b3: 'garbage-garbage' }],
  ])('%s -> 200 and a new, valid trace', async (_label, headers) => {
    const { status, body } = await get('/api/fast', headers);
    expect(status).toBe(200);
    expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(body.traceId).not.toMatch(/^0+$/);
    expect(body.downstream?.traceId).toBe(body.traceId);
    await traceSpans(body.traceId, 3);
  });

  it('an unsampled request (x-b3-sampled: 0) is answered and counted, without spans or an exemplar', async () => {
    const traceId = 'b7ad6b7169203331b7ad6b7169203331';
    const { status, body } = await get('/api/fast', { 'x-b3-traceid': traceId, 'x-b3-spanid': 'b7ad6b7169203331', 'x-b3-sampled': '0' });
    expect(status).toBe(200);
    expect(body.traceId).toBe(traceId);
    const metrics = await (await fetch(services.frontendMetricsUrl)).text();
    expect(metrics).not.toContain(traceId);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // one export interval
    expect(zipkin.trace(traceId)).toEqual([]);
  });

  it("every log line written while serving a request carries that request's trace_id, in both services", async () => {
    const before = { fe: services.frontend.logs.length, bl: services.businessLogic.logs.length };
    const { body } = await get('/api/slow?delayMs=10');
    const requestLines = () => [
      ...services.frontend.logs.slice(before.fe),
      ...services.businessLogic.logs.slice(before.bl),
    ].filter((line) => (line.req as { id?: string } | undefined)?.id !== undefined || typeof line.delayMs === 'number' || line.msg === 'business-logic answered');
    // access line of each service + the two handler lines
    const lines = await waitFor('4 request log lines', () => (requestLines().length >= 4 ? requestLines() : undefined));
    for (const line of lines) expect(line.trace_id, JSON.stringify(line)).toBe(body.traceId);
    expect(lines.every((line) => typeof line.span_id === 'string')).toBe(true);
  });

  it('OTLP log records reach the logs receiver with the trace id', async () => {
    const { body } = await get('/api/fast');
    const records = await waitFor('OTLP records of the trace', () => {
      const found = otlpLogs.received.items.filter((r) => r.traceId === body.traceId);
      return new Set(found.map((r) => r.serviceName)).size === 2 ? found : undefined;
    });
    expect(records.map((r) => r.serviceName).sort()).toContain('frontend');
    expect(records.map((r) => r.serviceName)).toContain('business-logic');
    expect(records.some((r) => r.body?.stringValue === 'request completed')).toBe(true);
  });

  it('/metrics negotiated as OpenMetrics has the RED histogram with an exemplar whose trace id was exported', async () => {
    const { body } = await get('/api/slow?delayMs=20');
    await traceSpans(body.traceId, 5);
    const response = await fetch(services.frontendMetricsUrl, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(response.headers.get('content-type')).toContain('application/openmetrics-text');
    const text = await response.text();
    expect(text).toContain('# TYPE http_server_request_duration_seconds histogram');
    const exemplarLines = text
      .split('\n')
      .filter((line) => line.startsWith('http_server_request_duration_seconds_bucket{') && line.includes('route="/api/slow"') && line.includes(' # {trace_id="'));
    expect(exemplarLines.length).toBeGreaterThan(0);
    const exemplarTraceIds = exemplarLines.map((line) => /trace_id="([0-9a-f]{32})"/.exec(line)?.[1]);
    const exported = new Set(zipkin.received.items.map((s) => s.traceId));
    expect(exemplarTraceIds.some((id) => id !== undefined && exported.has(id))).toBe(true);
    expect(text).toMatch(/http_server_request_duration_seconds_count\{method="GET",route="\/api\/slow",status_code="200"\} \d+/);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text.trimEnd().endsWith('# EOF')).toBe(true);
  });
});
