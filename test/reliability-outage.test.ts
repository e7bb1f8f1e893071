// business-logic dies under load (SIGKILL to its whole process group, no
// graceful shutdown) and comes back on the same port: the frontend answers
// 503 quickly while it is gone and recovers by itself, without a restart,
// without crashing and without an unhandled rejection.
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports';
import { pacedLoad, type Outcome } from './support/reliability';
import { startService, stopAllServices, type ServiceProcess } from './support/services';

afterAll(stopAllServices);

const RATE = 50;
const KILL_AT_MS = 3_000;
const DOWN_FOR_MS = 4_000;
const RUN_MS = 14_000;

describe('business-logic killed mid-load', () => {
  it('the frontend answers 503 within 1 s while it is down and 200 again once it is back, on the same process', async () => {
    const port = await freePort();
    let businessLogic: ServiceProcess = await startService('business-logic', { port, mode: 'direct' });
    const frontend = await startService('frontend', { env: { BUSINESS_LOGIC_URL: `http://127.0.0.1:${port}` }, mode: 'direct' });
    const frontendPid = frontend.pid();
    const events = { killed: 0, gone: 0, restarting: 0, ready: 0 };
    const began = performance.now();
    const at = () => performance.now() - began;

    const lifecycle = (async () => {
      await new Promise((resolve) => setTimeout(resolve, KILL_AT_MS));
      events.killed = at();
      process.kill(-businessLogic.child.pid!, 'SIGKILL');
      await new Promise((resolve) => businessLogic.child.once('exit', resolve));
      events.gone = at();
      await new Promise((resolve) => setTimeout(resolve, DOWN_FOR_MS));
      events.restarting = at();
      businessLogic = await startService('business-logic', { port, mode: 'direct' });
      events.ready = at();
    })();
    const load = await pacedLoad({
      baseUrl: frontend.url,
      rate: RATE,
      durationMs: RUN_MS,
      timeoutMs: 5_000,
      pathFor: (i) => (i % 2 === 0 ? '/api/fast' : '/api/slow?delayMs=20'),
    });
    await lifecycle;
    const { killed, gone, restarting, ready } = events;
    const ms = (o: Outcome) => o.endedAt - o.startedAt;
    const phase = (from: number, to: number) => load.outcomes.filter((o) => o.startedAt >= from && o.startedAt < to);
    const count = (list: Outcome[]) =>
      list.reduce<Record<string, number>>((acc, o) => ({ ...acc, [String(o.status ?? o.error)]: (acc[String(o.status ?? o.error)] ?? 0) + 1 }), {});
    // Answered before the kill; the ones in flight at that moment may get either answer.
    const before = load.outcomes.filter((o) => o.endedAt < killed);
    const down = phase(gone, restarting);
    const after = phase(ready + 500, Number.POSITIVE_INFINITY);
    console.log(
      `outage: killed at ${killed.toFixed(0)} ms, back at ${ready.toFixed(0)} ms; before ${JSON.stringify(count(before))}, ` +
        `down ${JSON.stringify(count(down))} (slowest ${Math.max(...down.map(ms)).toFixed(0)} ms), after ${JSON.stringify(count(after))}, ` +
        `all ${JSON.stringify(count(load.outcomes))}`,
    );

    expect(count(before)).toEqual({ '200': before.length });
    expect(down.length).toBeGreaterThan(100);
    expect(count(down)).toEqual({ '503': down.length });
    for (const o of down) {
      expect(ms(o)).toBeLessThan(1000);
      expect(JSON.parse(o.body)).toMatchObject({ error: 'service_unavailable' });
    }
    expect(after.length).toBeGreaterThan(100);
    expect(count(after)).toEqual({ '200': after.length });
    // Around the kill and the restart: only 200 or 503, never a hang or another error.
    expect(Object.keys(count(load.outcomes)).sort()).toEqual(['200', '503']);

    expect(frontend.child.exitCode).toBeNull();
    expect(frontend.pid()).toBe(frontendPid);
    expect(frontend.output()).not.toMatch(/unhandled|uncaught/i);
    await Promise.all([frontend.stop(), businessLogic.stop()]);
  }, 120_000);
});
