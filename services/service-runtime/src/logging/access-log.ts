import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pinoHttp, { type HttpLogger } from 'pino-http';
import type { Logger } from 'pino';

/** Envoy sets x-request-id in the mesh; locally we make one. Bounded, printable. */
export function requestIdOf(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^[\w.:-]{1,128}$/.test(value) ? value : randomUUID();
}

const QUIET_PATHS = new Set(['/livez', '/readyz', '/favicon.ico']);

/** One access log line per request (pino-http), with the request's trace ids. */
export function accessLog(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdOf(req);
      res.setHeader('x-request-id', id);
      return id;
    },
    autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.has((req.url ?? '').split('?', 1)[0] ?? '') },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    // Headers can be huge or secret; the line keeps what a reader needs.
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      // An HttpError is an answer, not a bug: its message is enough.
      err: (err: Error & { status?: number; code?: string }) =>
        err.name === 'HttpError' ? { type: err.name, status: err.status, code: err.code, message: err.message } : { type: err.name, message: err.message, stack: err.stack },
    },
  });
}
