// Fuzzes the HTTP surface of both services with seeded random requests sent
// as raw bytes: random paths, methods, bodies (huge, chunked, wrong lengths),
// huge and malformed headers (traceparent, tracestate, baggage, b3, x-b3-*,
// x-request-id, x-fail-rate, x-canary) and query values. Expected: a 5xx only
// where it is intended, every request answered (no hang), and the process
// keeps serving, without a crash or an unhandled rejection.
//
// Intended 5xx: business-logic answers 503 only when x-fail-rate (one valid
// value above 0) asked for it, or on /history, whose storage is off here
// (storage_disabled); the frontend answers 502 only when business-logic did
// one of those (it runs healthy here, so 503 and 504 never are).
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzCase, sendRaw, type FuzzAnswer, type FuzzCase } from './support/fuzz';
import { seededRandom } from './support/reliability';
import { startService, stopAllServices, type ServiceProcess } from './support/services';

afterAll(stopAllServices);

const CASES = 2000;
const CONCURRENCY = 16;
const SEED = Number(process.env.MESHLOOP_FUZZ_SEED ?? 20_261_122);

/** A single x-fail-rate value that business-logic accepts and that can fail a request. */
function asksForFailures(c: FuzzCase): boolean {
  const [value, ...more] = c.failRate;
  return more.length === 0 && value !== undefined && /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(value.trim()) && Number(value) > 0;
}

function intended(service: 'frontend' | 'business-logic', c: FuzzCase, answer: FuzzAnswer): boolean {
  const status = answer.status ?? 0;
  if (status < 500) return true;
  let body: { error?: string; downstreamStatus?: number; downstreamError?: string } = {};
  try {
    body = JSON.parse(answer.body) as typeof body;
  } catch {
    // HEAD answers have no body
  }
  const headOk = c.method === 'HEAD' && answer.body === '';
  // express routes paths case-insensitively and with or without a trailing slash.
  const history = /^\/(api\/)?history\/?(\?|$)/i.test(c.target);
  const storageOff = (error: string | undefined) => history && (headOk || error === 'storage_disabled');
  const injected = (error: string | undefined) => asksForFailures(c) && (headOk || error === 'injected_failure');
  if (service === 'business-logic') return status === 503 && (injected(body.error) || storageOff(body.error));
  return status === 502 && (headOk || body.downstreamStatus === 503) && (injected(body.downstreamError) || storageOff(body.downstreamError));
}

async function fuzz(service: ServiceProcess, seed: number) {
  const random = seededRandom(seed);
  const cases = Array.from({ length: CASES }, (_, i) => fuzzCase(random, i, service.name));
  const counts = new Map<string, number>();
  const unintended: string[] = [];
  const unanswered: string[] = [];
  const liveness: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const answer = await sendRaw(service.port, c.raw);
      const key = answer.status === undefined ? `no answer (${answer.error})` : String(answer.status);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (answer.status === undefined) {
        // Two ways to get no answer that are not failures: a CONNECT request
        // (Node closes the connection when the server has no 'connect'
        // listener: no tunnels here), and an answer lost because the server
        // answered and closed while a large body was still being written (the
        // kernel then resets the connection). A hang (timeout) is always a failure.
        const tunnel = c.method === 'CONNECT';
        const lostToReset = c.raw.length >= 65_536 && (answer.error === 'ECONNRESET' || answer.error === 'EPIPE');
        if (answer.error === 'timeout' || !(tunnel || lostToReset)) unanswered.push(`${c.summary}: ${answer.error}`);
      } else if (!intended(service.name, c, answer)) {
        unintended.push(`${c.summary} -> ${answer.status} ${answer.body.slice(0, 160)}`);
      }
      if (c.index % 250 === 249) liveness.push((await fetch(`${service.url}/livez`)).status);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { counts: Object.fromEntries([...counts.entries()].sort()), unintended, unanswered, liveness };
}

describe.each(['business-logic', 'frontend'] as const)('fuzzing %s', (name) => {
  it(`${CASES} seeded random requests: no unintended 5xx, every request answered, the process keeps serving`, async () => {
    const businessLogic = await startService('business-logic', { mode: 'direct' });
    const target = name === 'frontend' ? await startService('frontend', { mode: 'direct', env: { BUSINESS_LOGIC_URL: businessLogic.url } }) : businessLogic;
    const pid = target.child.pid;
    const result = await fuzz(target, SEED + (name === 'frontend' ? 1 : 0));
    console.log(`fuzz ${name} (seed ${SEED}): ${CASES} cases, answers ${JSON.stringify(result.counts)}, unintended 5xx ${result.unintended.length}, unanswered ${result.unanswered.length}`);

    expect(result.unanswered).toEqual([]);
    expect(result.unintended).toEqual([]);
    expect(result.liveness).toEqual(Array(CASES / 250).fill(200));
    expect((await fetch(`${target.url}${name === 'frontend' ? '/api/fast' : '/fast'}`)).status).toBe(200);
    expect(target.child.exitCode).toBeNull();
    expect(target.child.pid).toBe(pid);
    for (const service of new Set([target, businessLogic])) {
      expect(service.output()).not.toMatch(/unhandled rejection|uncaught|FATAL ERROR/i);
      expect(service.child.exitCode).toBeNull();
    }
    await stopAllServices();
  }, 300_000);
});
