/**
 * Storage figures (docs/data.md, BENCHMARKS.md): business-logic as a real process
 * (its dev command under tsx watch, telemetry preload) against a real PostgreSQL
 * started in a temp dir (test/support/postgres.ts).
 *   1. latency added to /slow?delayMs=0 by the INSERT: storage on vs off, sequential requests
 *   2. the pool under 200 req/s of /slow?delayMs=0 (autocannon, fixed rate): latency, errors,
 *      most connections used and most requests waiting (sampled from the metrics port), and
 *      the same load with storage off
 *   3. recovery after a database restart: PostgreSQL killed, started again; time from
 *      "accepting connections" until /history answers 200 again, and the longest request meanwhile
 * Usage: npm run bench:storage   (prints a JSON summary)
 */
import autocannon from 'autocannon';
import { startPostgres } from '../../test/support/postgres';
import { startService, stopAllServices, type ServiceProcess } from '../../test/support/services';

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const round = (n: number) => Math.round(n * 100) / 100;

async function sequentialLatency(url: string, count: number): Promise<{ p50: number; p90: number }> {
  const times: number[] = [];
  for (let i = 0; i < count + 50; i += 1) {
    const t0 = performance.now();
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    if (i >= 50) times.push(performance.now() - t0); // the first 50 warm up
  }
  return { p50: round(quantile(times, 0.5)), p90: round(quantile(times, 0.9)) };
}

async function poolGauges(service: ServiceProcess): Promise<{ used: number; pending: number }> {
  const text = await (await fetch(service.metricsUrl)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  return { used: value(/^db_client_connection_count\{state="used"\} (\d+)/m), pending: value(/^db_client_connection_pending_requests (\d+)/m) };
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  try {
    const off = await startService('business-logic', { mode: 'watch', env: { DATABASE_URL: '', OTEL_EXPORTER_ZIPKIN_ENDPOINT: '' } });
    const on = await startService('business-logic', { mode: 'watch', env: { DATABASE_URL: pg.url, OTEL_EXPORTER_ZIPKIN_ENDPOINT: '' } });
    for (let i = 0; i < 100; i += 1) {
      const body = (await (await fetch(`${on.url}/readyz`)).json()) as { dependencies?: { postgres?: string } };
      if (body.dependencies?.postgres === 'ready') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // 1. Latency the INSERT adds.
    const withoutStorage = await sequentialLatency(`${off.url}/slow?delayMs=0`, 500);
    const withStorage = await sequentialLatency(`${on.url}/slow?delayMs=0`, 500);

    // 2. The pool at 200 req/s.
    let maxUsed = 0;
    let maxPending = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const g = await poolGauges(on);
        maxUsed = Math.max(maxUsed, g.used);
        maxPending = Math.max(maxPending, g.pending);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const load = await autocannon({ url: `${on.url}/slow?delayMs=0`, connections: 50, overallRate: 200, duration: 15 });
    sampling = false;
    await sampler;
    // The same load with storage off: what the process costs without the database.
    const loadOff = await autocannon({ url: `${off.url}/slow?delayMs=0`, connections: 50, overallRate: 200, duration: 15 });

    // 3. Recovery after a restart under light load (10 req/s of /history).
    const longest = { ms: 0 };
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        await fetch(`${on.url}/history?limit=1`).then((r) => r.arrayBuffer()).catch(() => undefined);
        longest.ms = Math.max(longest.ms, performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await pg.kill();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await pg.start();
    const back = performance.now();
    let recoveredMs = NaN;
    for (;;) {
      const status = (await fetch(`${on.url}/history?limit=1`)).status;
      if (status === 200) {
        recoveredMs = performance.now() - back;
        break;
      }
      if (performance.now() - back > 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    probing = false;
    await prober;

    console.log(
      JSON.stringify(
        {
          slowLatencyMs: { storageOff: withoutStorage, storageOn: withStorage, addedP50: round(withStorage.p50 - withoutStorage.p50) },
          pool200rps: {
            requests: load.requests.total,
            rps: load.requests.average,
            latencyMs: { p50: load.latency.p50, p99: load.latency.p99, max: load.latency.max },
            errors: load.errors + load.timeouts,
            non2xx: load.non2xx,
            maxConnectionsUsed: maxUsed,
            maxRequestsWaiting: maxPending,
            poolMax: 5,
            storageOff: { rps: loadOff.requests.average, latencyMs: { p50: loadOff.latency.p50, p99: loadOff.latency.p99 } },
          },
          restart: { downForMs: 2000, recoveredAfterPostgresReadyMs: round(recoveredMs), longestRequestMs: round(longest.ms) },
        },
        null,
        2,
      ),
    );
  } finally {
    await stopAllServices();
    await pg.destroy();
  }
}

void main();
