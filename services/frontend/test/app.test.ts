import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { appDeps, listen } from '../../../test/support/app-deps';
import { createApp } from '../src/app';

describe('frontend app', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** The frontend in front of a recording stand-in for business-logic. */
  async function serve(jaegerUiUrl = 'http://localhost:16686') {
    const calls: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
    const downstream = createServer((req, res) => {
      calls.push({ url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: 'business-logic', version: 'v1' }));
    });
    await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      downstream.closeAllConnections();
      downstream.close();
    });
    const deps = appDeps('frontend');
    const config = {
      service: deps.service,
      businessLogicUrl: `http://127.0.0.1:${(downstream.address() as AddressInfo).port}`,
      downstreamTimeoutMs: 1000,
      jaegerUiUrl,
    };
    const server = await listen(createApp({ ...deps, config }));
    cleanups.push(server.close);
    return { url: server.url, calls };
  }

  it('GET /api/fast relays business-logic and says who answered', async () => {
    const { url, calls } = await serve();
    const response = await fetch(`${url}/api/fast`, { headers: { 'x-request-id': 'abc-123', 'x-canary': 'always', 'x-fail-rate': '0', cookie: 'secret' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ service: 'frontend', endpoint: 'fast', requestId: 'abc-123', downstream: { service: 'business-logic' } });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('/fast');
    expect(calls[0]?.headers).toMatchObject({ 'x-request-id': 'abc-123', 'x-canary': 'always', 'x-fail-rate': '0' });
    expect(calls[0]?.headers).not.toHaveProperty('cookie');
  });

  it('makes an x-request-id when there is none and returns it', async () => {
    const { url, calls } = await serve();
    const response = await fetch(`${url}/api/fast`);
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(calls[0]?.headers['x-request-id']).toBe(id);
  });

  it('passes a valid delayMs through, and none when absent', async () => {
    const { url, calls } = await serve();
    await fetch(`${url}/api/slow?delayMs=250`);
    await fetch(`${url}/api/slow`);
    expect(calls.map((c) => c.url)).toEqual(['/slow?delayMs=250', '/slow']);
  });

  it.each(['abc', '-5', '10001', '2.5'])('delayMs=%s -> 400 without calling business-logic', async (value) => {
    const { url, calls } = await serve();
    const response = await fetch(`${url}/api/slow?delayMs=${value}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_request', parameter: 'delayMs' });
    expect(calls).toHaveLength(0);
  });

  it('GET /api/history relays a valid limit (none when absent) and answers with the stored rows', async () => {
    const { url, calls } = await serve();
    const response = await fetch(`${url}/api/history?limit=5`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ service: 'frontend', endpoint: 'history', downstream: { service: 'business-logic' } });
    await fetch(`${url}/api/history`);
    expect(calls.map((c) => c.url)).toEqual(['/history?limit=5', '/history']);
  });

  it.each(['0', '101', 'abc', '2.5', '-1'])('limit=%s -> 400 naming the parameter, without calling business-logic', async (value) => {
    const { url, calls } = await serve();
    const response = await fetch(`${url}/api/history?limit=${value}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_request', parameter: 'limit' });
    expect(calls).toHaveLength(0);
  });

  it.each(['1.5', 'abc', ''])('x-fail-rate: %j -> 400 naming the header, without calling business-logic', async (value) => {
    const { url, calls } = await serve();
    const response = await fetch(`${url}/api/fast`, { headers: { 'x-fail-rate': value } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_request', header: 'x-fail-rate' });
    expect(calls).toHaveLength(0);
  });

  it('GET / serves the landing page with its three buttons and the Jaeger UI URL, escaped, under a strict CSP', async () => {
    const { url } = await serve('http://jaeger.example/"><script>');
    const response = await fetch(`${url}/`);
    const html = await response.text();
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(html).toContain('>Fast page</button>');
    expect(html).toContain('>Slow page</button>');
    expect(html).toContain('>History</button>');
    expect(html).toContain('data-jaeger-ui-url="http://jaeger.example/&quot;&gt;&lt;script&gt;"');
    expect((await fetch(`${url}/app.js`)).status).toBe(200);
  });

  it('an unknown path is a JSON 404', async () => {
    const { url } = await serve();
    const response = await fetch(`${url}/api/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });
});
