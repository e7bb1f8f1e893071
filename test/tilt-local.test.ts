// Local mode end to end with real Tilt: `tilt up -- --local` starts both
// services as local_resources (tsx watch), the test clicks the traffic buttons
// through Tilt's API exactly as the web UI does, reads the generator's summary
// from `tilt logs`, then `tilt down` and stops Tilt.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/ports';
import { clickButton, missingWebAssetsHint, runTilt } from './support/tilt';
import { repoRoot, toolPath } from './support/tools';

const RUN_ID = randomUUID();

/** Processes this test started, found by a marker variable Tilt passes on to everything it runs. */
function ownProcesses(): number[] {
  if (!existsSync('/proc')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`MESHLOOP_TEST_RUN=${RUN_ID}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function isListening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

describe('local mode with real Tilt (tilt up -- --local)', () => {
  let tilt: ChildProcess | undefined;
  let tiltExited: Promise<number | null> | undefined;
  let output = '';
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const ports = { tilt: 0, frontend: 0, frontendMetrics: 0, frontendDebug: 0, businessLogic: 0, businessLogicMetrics: 0, businessLogicDebug: 0 };

  const tiltCli = (args: string[]) => runTilt([...args, '--port', String(ports.tilt)], env);
  async function uiResources(): Promise<Record<string, string>> {
    const run = await tiltCli(['get', 'uiresources', '-o', 'json']);
    if (run.code !== 0) throw new Error(run.stderr);
    const list = JSON.parse(run.stdout) as { items: Array<{ metadata: { name: string }; status: { runtimeStatus?: string } }> };
    return Object.fromEntries(list.items.map((i) => [i.metadata.name, i.status.runtimeStatus ?? '']));
  }
  async function cmdStatus(name: string) {
    const run = await tiltCli(['get', 'cmd', name, '-o', 'json']);
    if (run.code !== 0) throw new Error(run.stderr);
    return (JSON.parse(run.stdout) as { status: { terminated?: { exitCode: number; startedAt: string } } }).status;
  }

  beforeAll(async () => {
    for (const service of ['frontend', 'business-logic']) {
      const entry = path.join(repoRoot, 'services', service, 'src', 'server.ts');
      if (!existsSync(entry)) throw new Error(`local mode needs ${entry} (the service's dev script runs it)`);
    }
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-tilt-local-'));
    // An empty kubeconfig: local mode must not need (or touch) any cluster.
    writeFileSync(path.join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
    env = {
      ...process.env,
      KUBECONFIG: path.join(dir, 'kubeconfig'),
      MESHLOOP_FRONTEND_PORT: String(ports.frontend),
      MESHLOOP_FRONTEND_METRICS_PORT: String(ports.frontendMetrics),
      MESHLOOP_BUSINESS_LOGIC_PORT: String(ports.businessLogic),
      MESHLOOP_BUSINESS_LOGIC_METRICS_PORT: String(ports.businessLogicMetrics),
      MESHLOOP_FRONTEND_DEBUG_PORT: String(ports.frontendDebug),
      MESHLOOP_BUSINESS_LOGIC_DEBUG_PORT: String(ports.businessLogicDebug),
      // No collectors run here: spans and logs stay in the processes.
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      MESHLOOP_TEST_RUN: RUN_ID,
    };
    // --web-mode prod: serve the bundled web assets (a release build's default;
    // a build from source would otherwise look for a webpack dev server).
    tilt = spawn(toolPath('tilt'), ['up', '--port', String(ports.tilt), '--web-mode', 'prod', '--stream', '--', '--local'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tilt.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tilt.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tiltExited = new Promise((resolve) => tilt!.once('exit', (code) => resolve(code)));

    const outcome = await waitFor(
      'Tilt to report frontend and business-logic ready',
      async () => {
        if (tilt!.exitCode !== null || tilt!.signalCode !== null) return 'exited';
        const status = await uiResources();
        return status.frontend === 'ok' && status['business-logic'] === 'ok' ? 'ready' : undefined;
      },
      180_000,
      1000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- tilt output ---\n${output.slice(-4000)}`);
    });
    if (outcome === 'exited') {
      throw new Error(`tilt up exited early${missingWebAssetsHint(output)}\n--- tilt output ---\n${output.slice(-4000)}`);
    }
  }, 240_000);

  afterAll(async () => {
    if (tilt && tilt.exitCode === null) {
      tilt.kill('SIGINT'); // Tilt stops its serve processes on the way out
      const stopped = await Promise.race([tiltExited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      if (stopped === 'timeout') tilt.kill('SIGKILL');
    }
    for (const pid of ownProcesses()) process.kill(pid, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves the frontend on its local port, calling the local business-logic', async () => {
    const response = await fetch(`http://localhost:${ports.frontend}/api/fast`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(JSON.stringify(body)).toContain('business-logic');
  });

  it.each([
    ['frontend', 'frontendDebug'],
    ['business-logic', 'businessLogicDebug'],
  ] as const)("links %s's debugger: the link answers with the inspector target of the service's node process", async (name, port) => {
    const run = await tiltCli(['get', 'uiresource', name, '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const links = (JSON.parse(run.stdout) as { status: { endpointLinks?: Array<{ url: string; name?: string }> } }).status.endpointLinks ?? [];
    const link = links.find((l) => l.name === 'debugger');
    expect(link?.url).toBe(`http://localhost:${ports[port]}/json/list`);
    const targets = (await (await fetch(link!.url.replace('localhost', '127.0.0.1'))).json()) as Array<{ type: string; webSocketDebuggerUrl: string }>;
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ type: 'node', webSocketDebuggerUrl: expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:${ports[port]}/`)) });
  });

  it.each([
    ['fast-traffic', 'fast', { RATE: '10', DURATION: '2' }, 20],
    ['slow-traffic', 'slow', { RATE: '2', DURATION: '1' }, 2],
  ])(
    'runs the %s button through Tilt; the summary in Tilt logs shows every request answered',
    async (button, profile, inputs, expected) => {
      const clickedAt = await clickButton(ports.tilt, button, inputs);
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

      const logs = await tiltCli(['logs']);
      expect(logs.code).toBe(0);
      const start = logs.stdout.lastIndexOf(`traffic summary: profile=${profile} target=http://localhost:${ports.frontend}`);
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
    const down = await runTilt(['down', '--', '--local'], env);
    expect(down.code, down.stderr).toBe(0);

    tilt!.kill('SIGINT');
    const code = await Promise.race([tiltExited, new Promise((resolve) => setTimeout(() => resolve('still running'), 30_000))]);
    expect(code).not.toBe('still running');
    await waitFor('the services to exit', async () => (ownProcesses().length === 0 ? true : undefined), 20_000, 250);
    for (const port of [ports.frontend, ports.businessLogic, ports.frontendMetrics, ports.businessLogicMetrics, ports.frontendDebug, ports.businessLogicDebug]) {
      expect(await isListening(port), `port ${port} closed`).toBe(false);
    }
  }, 90_000);
});
