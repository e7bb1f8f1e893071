// Local mode end to end with real Tilt: `tilt up -- --local` starts both
// services as local_resources (tsx watch), the test clicks the traffic buttons
// through Tilt's API exactly as the web UI does, reads the generator's summary
// from `tilt logs`, then `tilt down` and stops Tilt.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { clickButton, runTilt } from './support/tilt';
import { startTiltLocal, type TiltSession } from './support/tilt-session';
import { repoRoot } from './support/tools';

async function isListening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

describe('local mode with real Tilt (tilt up -- --local)', () => {
  let tilt: TiltSession | undefined;
  const ports = () => tilt!.servicePorts;

  async function cmdStatus(name: string) {
    const run = await tilt!.cli(['get', 'cmd', name, '-o', 'json']);
    if (run.code !== 0) throw new Error(run.stderr);
    return (JSON.parse(run.stdout) as { status: { terminated?: { exitCode: number; startedAt: string } } }).status;
  }

  beforeAll(async () => {
    for (const service of ['frontend', 'business-logic']) {
      const entry = path.join(repoRoot, 'services', service, 'src', 'server.ts');
      if (!existsSync(entry)) throw new Error(`local mode needs ${entry} (the service's dev script runs it)`);
    }
    tilt = await startTiltLocal({
      cwd: repoRoot,
      resources: [],
      ready: async (session) => {
        const [frontend, businessLogic] = await Promise.all([session.status('frontend'), session.status('business-logic')]);
        return frontend.runtimeStatus === 'ok' && businessLogic.runtimeStatus === 'ok';
      },
    });
  }, 240_000);

  afterAll(async () => {
    await tilt?.stop();
  }, 60_000);

  it('serves the frontend on its local port, calling the local business-logic', async () => {
    const response = await fetch(`http://localhost:${ports().frontend}/api/fast`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).toContain('business-logic');
  });

  it.each([
    ['frontend', 'frontendDebug'],
    ['business-logic', 'businessLogicDebug'],
  ] as const)("links %s's debugger: the link answers with the inspector target of the service's node process", async (name, port) => {
    const run = await tilt!.cli(['get', 'uiresource', name, '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const links = (JSON.parse(run.stdout) as { status: { endpointLinks?: Array<{ url: string; name?: string }> } }).status.endpointLinks ?? [];
    const link = links.find((l) => l.name === 'debugger');
    expect(link?.url).toBe(`http://localhost:${ports()[port]}/json/list`);
    const targets = (await (await fetch(link!.url.replace('localhost', '127.0.0.1'))).json()) as Array<{ type: string; webSocketDebuggerUrl: string }>;
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ type: 'node', webSocketDebuggerUrl: expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:${ports()[port]}/`)) });
  });

  it.each([
    ['fast-traffic', 'fast', { RATE: '10', DURATION: '2' }, 20],
    ['slow-traffic', 'slow', { RATE: '2', DURATION: '1' }, 2],
  ])(
    'runs the %s button through Tilt; the summary in Tilt logs shows every request answered',
    async (button, profile, inputs, expected) => {
      const clickedAt = await clickButton(tilt!.port, button, inputs);
      const status = await waitFor(
        `the ${button} Cmd to finish`,
        async () => {
          const s = await cmdStatus(button);
          return s.terminated && Date.parse(s.terminated.startedAt) >= Date.parse(clickedAt) - 1000 ? s.terminated : undefined;
        },
        60_000,
        500,
      );
      expect(status.exitCode).toBe(0);

      const logs = await tilt!.cli(['logs']);
      expect(logs.code).toBe(0);
      const start = logs.stdout.lastIndexOf(`traffic summary: profile=${profile} target=http://localhost:${ports().frontend}`);
      expect(start, `summary of ${button} in tilt logs:\n${logs.stdout.slice(-3000)}`).toBeGreaterThanOrEqual(0);
      const summary = logs.stdout.slice(start, start + 600);
      expect(summary).toContain(`requests sent: ${expected}\n`);
      expect(summary).toContain(`status codes: 200=${expected}\n`);
      expect(summary).toContain('errors: none\n');
      expect(summary).toContain('failures: 0\n');
      expect(summary).toMatch(/latency ms: p50=\d+\.\d p95=\d+\.\d p99=\d+\.\d/);
    },
    90_000,
  );

  it('tilt down succeeds, and stopping Tilt leaves no service process or port behind', async () => {
    const down = await runTilt(['down', '--', '--local'], tilt!.env);
    expect(down.code, down.stderr).toBe(0);

    expect(await tilt!.interrupt(), 'Tilt exits within 30 s of SIGINT').toBe(true);
    await waitFor('the services to exit', async () => (tilt!.processes().length === 0 ? true : undefined), 20_000, 250);
    for (const port of Object.values(ports())) {
      expect(await isListening(port), `port ${port} closed`).toBe(false);
    }
  }, 90_000);
});
