// Seeded random HTTP/1.1 requests, sent as raw bytes (so malformed ones really
// are malformed), and a minimal reader for the answer.
import { connect } from 'node:net';

export interface FuzzCase {
  index: number;
  /** short description for failure messages */
  summary: string;
  raw: Buffer;
  method: string;
  /** the request target (path and query) as sent */
  target: string;
  /** the x-fail-rate header value(s) sent, if any */
  failRate: string[];
}

export interface FuzzAnswer {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** set when the connection ended without a parsable answer */
  error?: string;
}

type Random = () => number;
const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const int = (random: Random, max: number) => Math.floor(random() * max);
const chance = (random: Random, p: number) => random() < p;

const hex = (random: Random, length: number) => Array.from({ length }, () => '0123456789abcdef'[int(random, 16)]).join('');
/** Printable ASCII, occasionally with bytes a header or URL must not contain. */
function text(random: Random, max: number, hostile = 0.1): string {
  const length = int(random, max + 1);
  let out = '';
  for (let i = 0; i < length; i += 1) {
    out += chance(random, hostile) ? String.fromCharCode(pick(random, [0, 1, 9, 0x7f, 0x80, 0xe9, 0xff, 0x22, 0x25, 0x3f, 0x23, 0x20])) : String.fromCharCode(33 + int(random, 94));
  }
  return out;
}

const FRONTEND_PATHS = ['/', '/api/fast', '/api/slow', '/api/history', '/api/', '/api/fast/', '/API/FAST', '/index.html', '/app.js', '/favicon.ico', '/livez', '/readyz', '/metrics'];
const BUSINESS_LOGIC_PATHS = ['/fast', '/slow', '/history', '/fast/', '/SLOW', '/livez', '/readyz', '/metrics', '/'];
const DELAYS = ['', '0', '1', '5', '20', '-1', '10001', '1e3', '0x10', 'abc', '5.5', '99999999999', ' 5', '%35', '%', '%zz', '1%00', '007', '+5'];
const LIMITS = ['', '1', '5', '100', '0', '101', '-1', '1e1', '0x5', 'abc', '2.5', ' 5', '%35', '%zz', '007', '99999999999999999999'];
const FAIL_RATES_VALID = ['0', '1', '0.5', '.3', '0.05', '1.0', '0.999'];
const FAIL_RATES_INVALID = ['abc', '2', '-0.1', '', '0.3 x', 'NaN', '1e-1', '0x1', '1.5', '.', '00.5', 'Infinity'];

function path(random: Random, service: 'frontend' | 'business-logic'): string {
  const base = pick(random, service === 'frontend' ? FRONTEND_PATHS : BUSINESS_LOGIC_PATHS);
  const kind = random();
  if (kind < 0.45) {
    const params: string[] = [];
    if (chance(random, 0.7)) params.push(`delayMs=${pick(random, DELAYS)}`);
    if (chance(random, 0.1)) params.push(`delayMs=${pick(random, DELAYS)}`); // repeated
    if (chance(random, 0.1)) params.push(`delayMs[${text(random, 3, 0)}]=1`);
    if (chance(random, 0.3)) params.push(`limit=${pick(random, LIMITS)}`);
    if (chance(random, 0.2)) params.push(`${encodeURIComponent(text(random, 8, 0))}=${encodeURIComponent(text(random, 20, 0))}`);
    return params.length ? `${base}?${params.join('&')}` : base;
  }
  if (kind < 0.6) return `${base}/${text(random, 30, 0.05).replace(/[\s]/g, '')}`;
  if (kind < 0.7) return pick(random, ['%', '/%zz', '/..%2f..%2fetc/passwd', '//', '/./api/fast', '/api/../api/fast', '*', '/%00', '/\u00e9', '/api/fast?' + '&'.repeat(500)]);
  if (kind < 0.75) return `/${'a'.repeat(1000 + int(random, 20_000))}`; // long request line (431 past 16 KiB)
  return base;
}

/** Trace and request-id headers: valid, malformed, or huge. */
function traceHeaders(random: Random): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const tid = () => (chance(random, 0.7) ? hex(random, 32) : pick(random, ['', '0'.repeat(32), hex(random, 31), 'zz' + hex(random, 30), hex(random, 64), text(random, 40)]));
  const sid = () => (chance(random, 0.7) ? hex(random, 16) : pick(random, ['', '0'.repeat(16), hex(random, 15), 'g'.repeat(16), text(random, 20)]));
  if (chance(random, 0.4)) {
    headers.push([
      'traceparent',
      pick(random, [`00-${tid()}-${sid()}-01`, `00-${tid()}-${sid()}-00`, `ff-${tid()}-${sid()}-01`, `00-${tid()}-${sid()}`, `${text(random, 60)}`, `00-${tid()}-${sid()}-01-${text(random, 10)}`, 'x'.repeat(int(random, 8000))]),
    ]);
  }
  if (chance(random, 0.15)) headers.push(['tracestate', pick(random, ['a=b', text(random, 100), 'k='.repeat(int(random, 200))])]);
  if (chance(random, 0.15)) headers.push(['baggage', pick(random, ['a=b', 'a=%zz', text(random, 200), 'k=v,'.repeat(int(random, 300))])]);
  if (chance(random, 0.25)) headers.push(['b3', pick(random, [`${tid()}-${sid()}-1`, `${tid()}-${sid()}-d-${sid()}`, '0', '1', 'd', text(random, 50)])]);
  if (chance(random, 0.3)) {
    headers.push(['x-b3-traceid', tid()]);
    if (chance(random, 0.8)) headers.push(['x-b3-spanid', sid()]);
    if (chance(random, 0.5)) headers.push(['x-b3-sampled', pick(random, ['0', '1', 'true', 'false', 'd', text(random, 5)])]);
    if (chance(random, 0.3)) headers.push(['x-b3-flags', pick(random, ['1', '0', text(random, 5)])]);
    if (chance(random, 0.3)) headers.push(['x-b3-parentspanid', sid()]);
  }
  if (chance(random, 0.4)) headers.push(['x-request-id', pick(random, [hex(random, 32), '', text(random, 40), 'r'.repeat(129), 'r'.repeat(int(random, 6000)), 'a b'])]);
  return headers;
}

/** One request for `service`, from the PRNG's next values. */
export function fuzzCase(random: Random, index: number, service: 'frontend' | 'business-logic'): FuzzCase {
  const method = chance(random, 0.6) ? 'GET' : pick(random, ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'FOO', 'get', 'G ET', '']);
  const target = path(random, service);
  const version = chance(random, 0.95) ? 'HTTP/1.1' : pick(random, ['HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'HTTP/1.1 extra', '']);
  const headers: Array<[string, string]> = [['Host', 'fuzz.local']];
  headers.push(...traceHeaders(random));
  const failRate: string[] = [];
  if (chance(random, 0.3)) {
    const value = chance(random, 0.6) ? pick(random, FAIL_RATES_VALID) : pick(random, FAIL_RATES_INVALID);
    failRate.push(value);
    headers.push(['x-fail-rate', value]);
    if (chance(random, 0.1)) {
      failRate.push(value);
      headers.push(['x-fail-rate', value]); // repeated: Node joins them with ", "
    }
  }
  if (chance(random, 0.2)) headers.push(['x-canary', pick(random, ['always', 'never', text(random, 30), 'always '.repeat(int(random, 50))])]);
  if (chance(random, 0.1)) headers.push(['Accept', pick(random, ['application/openmetrics-text', '*/*', text(random, 30)])]);
  // Hostile header names and values.
  if (chance(random, 0.05)) headers.push([pick(random, ['x y', 'x:y', '(x)', '', 'x\u00e9']), 'v']);
  if (chance(random, 0.05)) headers.push(['x-junk', `a${String.fromCharCode(pick(random, [0, 1, 0x7f, 13]))}b`]);
  if (chance(random, 0.05)) headers.push(['x-huge', 'h'.repeat(10_000 + int(random, 20_000))]); // past 16 KiB: 431
  if (chance(random, 0.03)) for (let i = 0; i < 2100; i += 1) headers.push([`x-many-${i}`, '1']);

  let body = Buffer.alloc(0);
  const bodyKind = random();
  if (bodyKind < 0.15) body = Buffer.from(JSON.stringify({ delayMs: pick(random, DELAYS), nested: { deep: text(random, 50, 0) } }));
  else if (bodyKind < 0.25) body = Buffer.from(Array.from({ length: int(random, 65_536) }, () => int(random, 256)));
  else if (bodyKind < 0.27) body = Buffer.alloc(1_000_000 + int(random, 1000), 0x61);
  if (body.length > 0) headers.push(['Content-Type', pick(random, ['application/json', 'text/plain', 'application/x-www-form-urlencoded', text(random, 20)])]);
  const framing = random();
  let payload = body;
  if (body.length > 0 && framing < 0.15) {
    headers.push(['Transfer-Encoding', 'chunked']);
    payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(chance(random, 0.8) ? '\r\n0\r\n\r\n' : '\r\nzz\r\n')]);
  } else if (body.length > 0 || framing < 0.05) {
    // Sometimes a wrong length, or two conflicting ones.
    const length = framing < 0.1 ? body.length + pick(random, [-1, 1, 100]) : body.length;
    headers.push(['Content-Length', String(Math.max(0, length))]);
    if (framing > 0.97) headers.push(['Content-Length', String(length + 1)]);
  }
  headers.push(['Connection', 'close']);
  const head = `${method} ${target} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return {
    index,
    summary: `#${index} ${method} ${target.slice(0, 80)} [${headers.map(([k, v]) => `${k.slice(0, 20)}=${v.slice(0, 20)}`).slice(1, 8).join(' ')}] body ${body.length}`,
    raw: Buffer.concat([Buffer.from(head, 'latin1'), payload]),
    method,
    target,
    failRate,
  };
}

/** Sends the raw bytes and reads one answer (the request asks the server to close). */
export function sendRaw(port: number, raw: Buffer, timeoutMs = 10_000): Promise<FuzzAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (error?: string) => {
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks).toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (!match) return resolve({ status: undefined, headers: {}, body: data.slice(0, 200), error: error ?? 'no HTTP answer' });
      const headers = Object.fromEntries(
        data
          .slice(0, end < 0 ? undefined : end)
          .split('\r\n')
          .slice(1)
          .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(match[1]), headers, body: end < 0 ? '' : data.slice(end + 4) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    // The server may answer (and close) before the whole body is written.
    socket.write(raw, () => undefined);
  });
}
