import type { ErrorRequestHandler, RequestHandler } from 'express';

/** An error with the HTTP answer it deserves: `{ error: code, message }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function badRequest(message: string, details?: Record<string, unknown>): HttpError {
  return new HttpError(400, 'bad_request', message, details);
}

/** Unknown paths get a JSON 404 like every other error. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown; statusCode?: unknown } | null)?.status ?? (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

/**
 * The one error middleware of a service. HttpErrors answer as they say;
 * errors express itself raises (bad JSON, URI errors...) keep their 4xx;
 * anything else is a bug: logged with its stack, answered 500 without it.
 */
export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) return next(error);
  // The access line reports res.err (logging/access-log.ts).
  res.err = error instanceof Error ? error : new Error(String(error));
  if (error instanceof HttpError) {
    res.status(error.status).json({ error: error.code, message: error.message, ...error.details });
    return;
  }
  const status = statusOf(error);
  if (status !== undefined && status < 500) {
    res.status(status).json({ error: 'bad_request', message: error instanceof Error ? error.message : 'bad request' });
    return;
  }
  req.log?.error({ err: error }, 'unhandled error');
  res.status(500).json({ error: 'internal_error', message: 'internal error' });
};
