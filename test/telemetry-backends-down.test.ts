import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { brokenBackends, type BackendState, type BrokenBackends } from './support/broken-backends';
import { waitFor } from './support/ports';
import { startService, stopAllServices, type ServiceProcess } from './support/services';
import { tarSync } from './support/tar-sync';
import { repoRoot } from './support/tools';

// A service's shutdown (and so every tsx watch restart after an edit) must not
// wait on a telemetry backend: once, with the OTLP logs endpoint unreachable,
// each exit took 8-20 s (thread-stream's blocking end(), a worker's pending
// DNS lookup), tsx force-killed at 5 s and edits were served after 6-7 s.
afterAll(stopAllServices);

const appFile = 'services/business-logic/src/app.ts';
const states: BackendState[] = ['refusing', 'hanging', 'unreachable', 'slow DNS'];

async function endpointOf(service: ServiceProcess): Promise<unknown> {
  return ((await (await fetch(`${service.url}/fast`)).json()) as { endpoint: unknown }).endpoint;
}

describe.each(states)('with both telemetry backends %s', (state) => {
  let backends: BrokenBackends | undefined;
  afterEach(async () => {
    await stopAllServices();
    await backends?.close();
    backends = undefined;
  });

  it('edits are served by the restarted process (3 syncs) and tsx never has to force-kill the old one', async () => {
    backends = await brokenBackends(state);
    const service = await startService('business-logic', { mode: 'watch', env: backends.env, wrap: backends.wrap });
    const original = readFileSync(path.join(repoRoot, appFile), 'utf8');
    const timings: number[] = [];
    try {
      for (let edit = 1; edit <= 3; edit++) {
        // Requests queue spans and log lines; the exporters then hold connections or lookups to the broken backend.
        for (let i = 0; i < 5; i++) await fetch(`${service.url}/fast`);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const marker = `fast-${state.replace(' ', '-')}-${edit}-${randomBytes(3).toString('hex')}`;
        const started = Date.now();
        tarSync(repoRoot, { [appFile]: original.replace("endpoint: 'fast'", `endpoint: '${marker}'`) });
        await waitFor(`edit ${edit} served`, async () => ((await endpointOf(service).catch(() => undefined)) === marker ? true : undefined), 10_000, 50);
        timings.push(Date.now() - started);
      }
    } finally {
      tarSync(repoRoot, { [appFile]: original });
    }
    console.log(`[${state}] edit -> served: ${timings.join(', ')} ms`);
    expect(service.output()).not.toContain("didn't exit");
    expect(service.output()).not.toContain('Force killing');
  });

  it('SIGTERM: exit code 0 within 4 s (the shutdown deadline), with exports pending', async () => {
    backends = await brokenBackends(state);
    const service = await startService('business-logic', { mode: 'direct', env: backends.env, wrap: backends.wrap });
    for (let i = 0; i < 20; i++) await fetch(`${service.url}/fast`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const started = Date.now();
    const code = await service.stop();
    const exitMs = Date.now() - started;
    console.log(`[${state}] exit after SIGTERM: ${exitMs} ms`);
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(4000);
  });
});
