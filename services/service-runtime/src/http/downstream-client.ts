import { HttpError } from './errors';

export interface DownstreamCall {
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string | undefined>;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** The body as a JSON object, or undefined when it is not one. */
function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * GETs JSON from another service of the mesh with a timeout and maps every
 * failure to an answer: a bad answer -> 502, unreachable -> 503, too slow ->
 * 504, each message naming the callee. Never throws anything but an HttpError.
 * Trace context is injected by the undici instrumentation, so the call is one
 * hop of the same trace.
 */
export class DownstreamClient {
  constructor(
    private readonly name: string,
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async get(call: DownstreamCall): Promise<Record<string, unknown>> {
    const url = new URL(call.path.replace(/^\//, ''), `${this.baseUrl}/`);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers = Object.fromEntries(Object.entries(call.headers ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
    let response: Response;
    let body: string;
    try {
      // One signal for connect, headers and body: the whole call is bounded.
      const signal = AbortSignal.timeout(this.timeoutMs);
      response = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal });
      body = await response.text();
    } catch (error) {
      throw this.failure(error);
    }
    const answer = jsonObject(body);
    if (!response.ok) throw this.refusal(response.status, answer ?? {});
    if (!answer) throw new HttpError(502, 'bad_gateway', `${this.name} answered with a body that is not a JSON object`);
    return answer;
  }

  /**
   * A non-2xx answer is our 502. The callee's own `{error, message}` goes
   * along (`downstreamError`, and in the message), so that "storage is off"
   * reaches the caller instead of a bare status.
   */
  private refusal(status: number, reason: { error?: unknown; message?: unknown }): HttpError {
    const code = typeof reason.error === 'string' ? reason.error.slice(0, 100) : undefined;
    const said = typeof reason.message === 'string' ? `: ${reason.message.slice(0, 300)}` : '';
    return new HttpError(502, 'bad_gateway', `${this.name} answered ${status}${code ? ` ${code}` : ''}${said}`, {
      downstreamStatus: status,
      ...(code === undefined ? {} : { downstreamError: code }),
    });
  }

  private failure(error: unknown): HttpError {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new HttpError(504, 'gateway_timeout', `${this.name} did not answer within ${this.timeoutMs} ms`);
    }
    const code = errorCode(error);
    if (code === undefined || UNREACHABLE_CODES.has(code)) {
      return new HttpError(503, 'service_unavailable', `${this.name} is unreachable${code ? ` (${code})` : ''}`);
    }
    return new HttpError(502, 'bad_gateway', `${this.name} call failed (${code})`);
  }
}
