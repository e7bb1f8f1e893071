// Load: 200 requests/s for 60 s through the frontend (a mix of /api/fast and
// /api/slow?delayMs=20), both services as local processes, with their
// telemetry backends unreachable for the whole run: Zipkin resets every
// connection, Loki's OTLP port refuses it. Expect no error at all, a recorded
// p99, and resident memory that levels off. (A backend that accepts and never
// answers is test/reliability-hung-telemetry.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports';
import { blackHole, pacedLoad, percentile, rssKiB } from '../support/reliability';
import { startService, stopAllServices } from '../support/services';

afterAll(stopAllServices);

const RATE = 200;
const DURATION_MS = 60_000;
const WARMUP_MS = 10_000;
/**
 * The heap is capped like a pod-sized process's would be (the Deployments
 * limit memory to 384Mi): V8 then collects garbage instead of growing its heap
 * lazily, so RSS follows what is really retained.
 */
const HEAP_MIB = 96;
/**
 * Per process, RSS may grow by at most this much over the 60 s after the
 * warm-up (the span and log queues, 2048 each, fill up; measured: ~25 MiB),
 * and at most LATE_GROWTH_BOUND_MIB over its last 30 s, where it has levelled
 * off (measured: ~3 MiB). Retaining ~2 KiB per request (6000 requests in 30 s)
 * would break the second bound.
 */
const RSS_GROWTH_BOUND_MIB = 48;
const LATE_GROWTH_BOUND_MIB = 12;

describe('load through the frontend with dead telemetry backends', () => {
  it(`${RATE} requests/s for ${DURATION_MS / 1000} s: no error, p99 recorded, RSS growth under ${RSS_GROWTH_BOUND_MIB} MiB and levelling off`, async () => {
    const zipkin = await blackHole('reset');
    const lokiPort = await freePort(); // nothing listens there: connection refused
    const env = {
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${zipkin.url}/api/v2/spans`,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `http://127.0.0.1:${lokiPort}/otlp/v1/logs`,
      LOG_LEVEL: 'info',
      NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}`,
    };
    // One node process each (no watcher): its pid is the one to measure.
    const businessLogic = await startService('business-logic', { env, mode: 'direct' });
    const frontend = await startService('frontend', { env: { ...env, BUSINESS_LOGIC_URL: businessLogic.url }, mode: 'direct' });
    const pids = { frontend: frontend.child.pid!, 'business-logic': businessLogic.child.pid! };
    // Two fast calls, then one slow one (20 ms of "work" in business-logic).
    const pathFor = (i: number) => (i % 3 === 2 ? '/api/slow?delayMs=20' : '/api/fast');

    const warmup = await pacedLoad({ baseUrl: frontend.url, rate: RATE, durationMs: WARMUP_MS, pathFor });
    const start = { frontend: rssKiB(pids.frontend), 'business-logic': rssKiB(pids['business-logic']) };
    const samples: Array<Record<keyof typeof pids, number>> = [start];
    let halfway: Record<keyof typeof pids, number> | undefined;
    const run = await pacedLoad({
      baseUrl: frontend.url,
      rate: RATE,
      durationMs: DURATION_MS,
      pathFor,
      onSecond: (second) => {
        if (second % 10 !== 0) return;
        samples.push({ frontend: rssKiB(pids.frontend), 'business-logic': rssKiB(pids['business-logic']) });
        if (second === DURATION_MS / 2000) halfway = samples.at(-1);
      },
    });
    const end = { frontend: rssKiB(pids.frontend), 'business-logic': rssKiB(pids['business-logic']) };
    samples.push(end);

    const latencies = run.outcomes.filter((o) => o.status === 200).map((o) => o.endedAt - o.startedAt).sort((a, b) => a - b);
    const statuses = new Map<string, number>();
    for (const o of [...warmup.outcomes, ...run.outcomes]) statuses.set(String(o.status ?? o.error), (statuses.get(String(o.status ?? o.error)) ?? 0) + 1);
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    console.log(
      [
        `load: ${run.outcomes.length} requests in ${(run.elapsedMs / 1000).toFixed(1)} s (${(run.outcomes.length / (run.elapsedMs / 1000)).toFixed(1)}/s) after a ${WARMUP_MS / 1000} s warm-up`,
        `  statuses: ${JSON.stringify(Object.fromEntries(statuses))}`,
        `  latency ms: p50 ${percentile(latencies, 50).toFixed(1)}, p90 ${percentile(latencies, 90).toFixed(1)}, p99 ${percentile(latencies, 99).toFixed(1)}, max ${latencies.at(-1)?.toFixed(1)}`,
        ...(['frontend', 'business-logic'] as const).map(
          (name) => `  RSS ${name} MiB every 10 s: ${samples.map((s) => mib(s[name])).join(' -> ')} (growth ${mib(end[name] - start[name])})`,
        ),
        `  zipkin (resetting every connection) was tried ${zipkin.connections()} times`,
      ].join('\n'),
    );

    expect(run.skipped).toBe(0);
    expect(run.outcomes).toHaveLength((RATE * DURATION_MS) / 1000);
    expect(Object.fromEntries(statuses)).toEqual({ '200': (RATE * (WARMUP_MS + DURATION_MS)) / 1000 });
    // The span exporter really was failing all along (it reached the resetting endpoint).
    expect(zipkin.connections()).toBeGreaterThan(10);
    expect(percentile(latencies, 99)).toBeLessThan(1000);
    expect(halfway).toBeDefined();
    for (const name of ['frontend', 'business-logic'] as const) {
      expect(end[name] - start[name], `${name} RSS growth (KiB)`).toBeLessThan(RSS_GROWTH_BOUND_MIB * 1024);
      expect(end[name] - halfway![name], `${name} RSS growth over the last 30 s (KiB)`).toBeLessThan(LATE_GROWTH_BOUND_MIB * 1024);
    }
    expect(frontend.child.exitCode).toBeNull();
    expect(businessLogic.child.exitCode).toBeNull();
    for (const service of [frontend, businessLogic]) expect(service.output()).not.toMatch(/unhandled|uncaught|FATAL ERROR/i);
    await Promise.all([frontend.stop(), businessLogic.stop()]);
    await zipkin.close();
  }, 180_000);
});
