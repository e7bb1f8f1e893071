import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError } from '@meshloop/service-runtime';
import { freePort } from '../../../test/support/ports';
import { BusinessLogicClient } from '../src/business-logic-client';

/** A stand-in business-logic that answers as each test needs (the real one cannot misbehave on demand). */
async function fakeBusinessLogic(handler: (url: string, headers: IncomingHttpHeaders, res: import('node:http').ServerResponse) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => handler(req.url ?? '', req.headers, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('BusinessLogicClient', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('returns the JSON answer, sends the query, forwards the given headers', async () => {
    let seen: { url: string; headers: IncomingHttpHeaders } | undefined;
    const fake = await fakeBusinessLogic((url, headers, res) => {
      seen = { url, headers };
      res.setHeader('content-type', 'application/json');
      res.end('{"service":"business-logic"}');
    });
    server = fake.server;
    const client = new BusinessLogicClient(fake.url, 1000);
    const answer = await client.get({ path: 'slow', query: { delayMs: 5, skipped: undefined }, headers: { 'x-request-id': 'req-1', 'x-canary': undefined } });
    expect(answer).toEqual({ service: 'business-logic' });
    expect(seen?.url).toBe('/slow?delayMs=5');
    expect(seen?.headers['x-request-id']).toBe('req-1');
    expect(seen?.headers).not.toHaveProperty('x-canary');
  });

  it('a 5xx answer -> 502 naming the downstream status', async () => {
    const fake = await fakeBusinessLogic((_url, _headers, res) => res.writeHead(500).end('{"error":"boom"}'));
    server = fake.server;
    const error = await failure(new BusinessLogicClient(fake.url, 1000).get({ path: 'fast', headers: {} }));
    expect(error).toMatchObject({ status: 502, code: 'bad_gateway', details: { downstreamStatus: 500, downstreamError: 'boom' } });
  });

  it("a refusal's own error code and message reach the caller: 503 storage_disabled -> 502 that says so", async () => {
    const fake = await fakeBusinessLogic((_url, _headers, res) =>
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"storage_disabled","message":"storage is off (no DATABASE_URL)"}'),
    );
    server = fake.server;
    const error = await failure(new BusinessLogicClient(fake.url, 1000).get({ path: 'history', headers: {} }));
    expect(error).toMatchObject({ status: 502, details: { downstreamStatus: 503, downstreamError: 'storage_disabled' } });
    expect(error.message).toBe('business-logic answered 503 storage_disabled: storage is off (no DATABASE_URL)');
  });

  it.each(['<html>oops</html>', '{"error":42,"message":["x"]}', ''])('a refusal with body %j -> 502 with the status only', async (body) => {
    const fake = await fakeBusinessLogic((_url, _headers, res) => res.writeHead(500).end(body));
    server = fake.server;
    const error = await failure(new BusinessLogicClient(fake.url, 1000).get({ path: 'fast', headers: {} }));
    expect(error.message).toBe('business-logic answered 500');
    expect(error.details).toEqual({ downstreamStatus: 500 });
  });

  it.each(['not json', '[1,2]', 'null'])('a 200 with body %j -> 502', async (body) => {
    const fake = await fakeBusinessLogic((_url, _headers, res) => res.end(body));
    server = fake.server;
    expect(await failure(new BusinessLogicClient(fake.url, 1000).get({ path: 'fast', headers: {} }))).toMatchObject({ status: 502 });
  });

  it('nothing listening -> 503 at once', async () => {
    const port = await freePort();
    const started = performance.now();
    const error = await failure(new BusinessLogicClient(`http://127.0.0.1:${port}`, 5000).get({ path: 'fast', headers: {} }));
    expect(error).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(error.message).toContain('ECONNREFUSED');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('the connection dropped mid-answer -> 503', async () => {
    const fake = await fakeBusinessLogic((_url, _headers, res) => res.socket?.destroy());
    server = fake.server;
    expect(await failure(new BusinessLogicClient(fake.url, 1000).get({ path: 'fast', headers: {} }))).toMatchObject({ status: 503 });
  });

  it('no answer within the timeout -> 504 after about the timeout', async () => {
    const fake = await fakeBusinessLogic(() => undefined);
    server = fake.server;
    const started = performance.now();
    const error = await failure(new BusinessLogicClient(fake.url, 200).get({ path: 'slow', headers: {} }));
    expect(error).toMatchObject({ status: 504, code: 'gateway_timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('a body that trickles past the timeout -> 504 too', async () => {
    const fake = await fakeBusinessLogic((_url, _headers, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"service":');
    });
    server = fake.server;
    expect(await failure(new BusinessLogicClient(fake.url, 200).get({ path: 'fast', headers: {} }))).toMatchObject({ status: 504 });
  });
});
