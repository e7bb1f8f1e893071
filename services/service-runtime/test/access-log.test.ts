import { request } from 'node:http';
import { Writable } from 'node:stream';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessLog, createLogger, errorHandler, HttpError, notFound } from '@meshloop/service-runtime';
import { listen } from '../../../test/support/app-deps';
import { waitFor } from '../../../test/support/ports';

type Line = Record<string, unknown> & { msg: string; level: number };

/** The services' logger, with its lines landing in an array instead of stdout. */
function memoryLogger() {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Line);
      done();
    },
  });
  const service = { name: 'access-log-test', version: 'v1', hostname: 'test-host' };
  return { lines, logger: createLogger({ service, level: 'info', destination: sink }) };
}

const LEVEL = { info: 30, warn: 40, error: 50 };

describe('the access log', () => {
  const { lines, logger } = memoryLogger();
  let url = '';
  let close: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const app = express();
    app.use(accessLog(logger));
    app.get('/livez', (_req, res) => res.json({ status: 'ok' }));
    app.get('/fast', (req, res) => res.json({ id: req.id }));
    app.get('/logs', (req, res) => {
      req.log.info({ step: 'inside' }, 'handler says hello');
      res.json({});
    });
    app.get('/teapot', () => {
      throw new HttpError(418, 'teapot', 'short and stout');
    });
    app.get('/bug', () => {
      throw new Error('disk on fire');
    });
    app.get('/hang', () => undefined);
    app.use(notFound);
    app.use(errorHandler);
    ({ url, close } = await listen(app));
  });
  afterAll(() => close());
  afterEach(() => {
    lines.length = 0;
  });

  /** Waits until a line matching `match` was written (lines are written on 'finish'). */
  const lineWhere = (match: (line: Line) => boolean) => waitFor('a matching log line', () => lines.find(match), 1000, 10);

  it('writes one "request completed" line per request with id, method, url, status and duration, and none for probes', async () => {
    const answer = await fetch(`${url}/fast?x=1`, { headers: { 'x-request-id': 'req-42' } });
    expect(answer.headers.get('x-request-id')).toBe('req-42');
    expect(await answer.json()).toEqual({ id: 'req-42' });
    await fetch(`${url}/livez`);
    const line = await lineWhere((l) => l.msg === 'request completed');
    expect(line).toMatchObject({ level: LEVEL.info, req: { id: 'req-42', method: 'GET', url: '/fast?x=1' }, res: { statusCode: 200 } });
    expect(typeof line.responseTime).toBe('number');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(lines.filter((l) => l.msg === 'request completed')).toHaveLength(1);
  });

  it('replaces an x-request-id that is not a short printable token with a fresh one', async () => {
    const answer = await fetch(`${url}/fast`, { headers: { 'x-request-id': 'a b\tc' } });
    const id = answer.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await lineWhere((l) => l.msg === 'request completed')).req).toMatchObject({ id });
  });

  it('logs a 4xx answer at warn with the HttpError, and a bug at error with its stack', async () => {
    expect((await fetch(`${url}/teapot`)).status).toBe(418);
    const teapot = await lineWhere((l) => l.msg === 'request completed');
    expect(teapot).toMatchObject({ level: LEVEL.warn, res: { statusCode: 418 }, err: { type: 'HttpError', status: 418, code: 'teapot', message: 'short and stout' } });
    lines.length = 0;
    expect((await fetch(`${url}/bug`)).status).toBe(500);
    const bug = await lineWhere((l) => l.msg === 'request completed');
    expect(bug).toMatchObject({ level: LEVEL.error, res: { statusCode: 500 }, err: { type: 'Error', message: 'disk on fire' } });
    expect(String((bug.err as { stack: string }).stack)).toContain('access-log.test.ts');
  });

  it('gives handlers req.log, whose lines carry the request id, method and url', async () => {
    await fetch(`${url}/logs`, { headers: { 'x-request-id': 'req-7' } });
    expect(await lineWhere((l) => l.msg === 'handler says hello')).toMatchObject({ step: 'inside', req: { id: 'req-7', method: 'GET', url: '/logs' } });
  });

  it('logs "request aborted" when the client leaves before the answer', async () => {
    const client = request(`${url}/hang`);
    client.on('error', () => undefined);
    client.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.destroy();
    expect(await lineWhere((l) => l.msg === 'request aborted')).toMatchObject({ level: LEVEL.warn, req: { method: 'GET', url: '/hang' } });
  });
});

describe('trace ids in log lines', () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    manager.enable();
    context.setGlobalContextManager(manager);
  });
  afterAll(() => {
    context.disable();
  });

  it('a line written inside an active sampled span has its trace_id, span_id and trace_flags; outside, none', () => {
    const { lines, logger } = memoryLogger();
    const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
    context.with(trace.setSpanContext(context.active(), spanContext), () => logger.info('inside'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', trace_id: spanContext.traceId, span_id: spanContext.spanId, trace_flags: '01' });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('an invalid (all-zero) span context adds no ids', () => {
    const { lines, logger } = memoryLogger();
    const invalid = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: TraceFlags.NONE };
    context.with(trace.setSpanContext(context.active(), invalid), () => logger.info('inside'));
    expect(lines[0]).not.toHaveProperty('trace_id');
  });
});
