import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { errorHandler, HttpError, notFound } from '@meshloop/service-runtime';
import { listen } from '../../../test/support/app-deps';

describe('the error middleware', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function answer(throwing: () => unknown, init?: RequestInit) {
    const app = express();
    app.use(express.json());
    app.all('/boom', () => {
      throw throwing();
    });
    app.use(notFound);
    app.use(errorHandler);
    const server = await listen(app);
    close = server.close;
    const response = await fetch(`${server.url}/boom`, init);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('answers an HttpError with its status, code, message and details', async () => {
    expect(await answer(() => new HttpError(418, 'teapot', 'short and stout', { spout: true }))).toEqual({
      status: 418,
      body: { error: 'teapot', message: 'short and stout', spout: true },
    });
  });

  it('keeps the 4xx of errors express raises (malformed JSON body)', async () => {
    const result = await answer(() => new Error('unreachable'), { method: 'POST', body: '{bad', headers: { 'content-type': 'application/json' } });
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('bad_request');
  });

  it('answers anything else 500 without leaking the message or stack', async () => {
    const result = await answer(() => new Error('password=hunter2 at db.ts:12'));
    expect(result).toEqual({ status: 500, body: { error: 'internal_error', message: 'internal error' } });
  });
});
