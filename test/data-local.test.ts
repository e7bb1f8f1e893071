// Storage in local mode: the Tiltfile's three cases (no database: off and said so;
// DATABASE_URL: used; --postgres: a `postgres` local_resource), then real Tilt
// with `--local --postgres` running the machine's PostgreSQL, /slow storing and
// /history reading back, and `tilt down` keeping the data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/ports';
import { postgresBinDir } from './support/postgres';
import { missingWebAssetsHint, runTilt, runTiltfileResult, tiltfileResult } from './support/tilt';
import { repoRoot, toolPath } from './support/tools';

describe('Tiltfile, local mode: storage', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-data-tiltfile-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('without DATABASE_URL or --postgres, storage is off, business-logic gets no DATABASE_URL, and the Tilt log says how to turn it on', async () => {
    const run = await runTiltfileResult({ args: ['--local'], verbose: true, env: { DATABASE_URL: undefined } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('storage: OFF');
    expect(run.stderr).toContain('tilt up -- --local --postgres');
    const result = await tiltfileResult({ args: ['--local'], env: { DATABASE_URL: undefined } });
    expect(result.resources.map((r) => r.name)).not.toContain('postgres');
    expect(result.resource('business-logic').serveEnv).not.toHaveProperty('DATABASE_URL');
  });

  it('with DATABASE_URL set, business-logic gets it and no postgres resource starts', async () => {
    const url = 'postgres://someone@db.example.invalid:5432/app';
    const result = await tiltfileResult({ args: ['--local'], env: { DATABASE_URL: url } });
    expect(result.resource('business-logic').serveEnv).toMatchObject({ DATABASE_URL: url });
    expect(result.resources.map((r) => r.name)).not.toContain('postgres');
  });

  it('with --postgres, a `postgres` local_resource (label data) serves and business-logic waits for it, the password passed as PGPASSWORD only', async () => {
    const pgDir = path.join(dir, 'pg');
    const result = await tiltfileResult({ args: ['--local', '--postgres'], env: { DATABASE_URL: undefined, MESHLOOP_POSTGRES_DIR: pgDir, MESHLOOP_POSTGRES_PORT: '55432' } });
    const postgres = result.resource('postgres');
    expect(postgres.labels).toEqual(['data']);
    expect(postgres.serveCmd).toEqual(['bash', path.join(repoRoot, 'scripts', 'data', 'local-postgres.sh'), 'serve']);
    const businessLogic = result.resource('business-logic');
    expect(businessLogic.resourceDeps).toContain('postgres');
    const password = readFileSync(path.join(pgDir, 'password'), 'utf8').trim();
    expect(password).toMatch(/^[0-9a-f]{32,}$/);
    expect(businessLogic.serveEnv).toMatchObject({ DATABASE_URL: 'postgres://meshloop@127.0.0.1:55432/meshloop', PGPASSWORD: password });
    expect(businessLogic.serveEnv?.DATABASE_URL).not.toContain(password);
    // Made once: a second evaluation keeps it.
    await tiltfileResult({ args: ['--local', '--postgres'], env: { DATABASE_URL: undefined, MESHLOOP_POSTGRES_DIR: pgDir } });
    expect(readFileSync(path.join(pgDir, 'password'), 'utf8').trim()).toBe(password);
  });
});

const RUN_ID = randomUUID();

/** Processes this test started, found by a marker variable Tilt passes on to everything it runs. */
function ownProcesses(): number[] {
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

describe('local mode with real Tilt and the machine\'s PostgreSQL (tilt up -- --local --postgres)', () => {
  let tilt: ChildProcess | undefined;
  let tiltExited: Promise<number | null> | undefined;
  let output = '';
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const ports = { tilt: 0, frontend: 0, frontendMetrics: 0, businessLogic: 0, businessLogicMetrics: 0, postgres: 0 };
  const tiltCli = (args: string[]) => runTilt([...args, '--port', String(ports.tilt)], env);

  async function uiResources(): Promise<Record<string, string>> {
    const run = await tiltCli(['get', 'uiresources', '-o', 'json']);
    if (run.code !== 0) throw new Error(run.stderr);
    const list = JSON.parse(run.stdout) as { items: Array<{ metadata: { name: string }; status: { runtimeStatus?: string } }> };
    return Object.fromEntries(list.items.map((i) => [i.metadata.name, i.status.runtimeStatus ?? '']));
  }

  async function startTilt(): Promise<void> {
    output = '';
    // Only business-logic and what it depends on (postgres): the unit-test resources would
    // run vitest three times over alongside, and may still be finishing when Tilt stops.
    tilt = spawn(toolPath('tilt'), ['up', '--port', String(ports.tilt), '--web-mode', 'prod', '--stream', '--', '--local', '--postgres', 'business-logic'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tilt.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tilt.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    tiltExited = new Promise((resolve) => tilt!.once('exit', (code) => resolve(code)));
    const outcome = await waitFor(
      'Tilt to report postgres and business-logic ready',
      async () => {
        if (tilt!.exitCode !== null || tilt!.signalCode !== null) return 'exited';
        const status = await uiResources();
        return status.postgres === 'ok' && status['business-logic'] === 'ok' ? 'ready' : undefined;
      },
      180_000,
      1000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- tilt output ---\n${output.slice(-4000)}`);
    });
    if (outcome === 'exited') throw new Error(`tilt up exited early${missingWebAssetsHint(output)}\n--- tilt output ---\n${output.slice(-4000)}`);
    await waitFor('storage ready', async () => {
      const body = (await (await fetch(`http://127.0.0.1:${ports.businessLogic}/readyz`)).json()) as { dependencies?: { postgres?: string } };
      return body.dependencies?.postgres === 'ready' ? true : undefined;
    }, 60_000, 250);
  }

  async function stopTilt(): Promise<void> {
    const down = await runTilt(['down', '--', '--local', '--postgres', 'business-logic'], env);
    if (down.code !== 0) throw new Error(`tilt down failed: ${down.stderr}`);
    if (tilt && tilt.exitCode === null) {
      tilt.kill('SIGINT');
      await Promise.race([tiltExited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    }
    await waitFor('Tilt\'s processes to exit', () => (ownProcesses().length === 0 ? true : undefined), 30_000, 250).catch((error: unknown) => {
      const left = ownProcesses().map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')}`);
      throw new Error(`${String(error)}; still running:\n${left.join('\n')}`);
    });
    // postgres rewrites its own environ (process titles), so it is not among ownProcesses:
    // a clean shutdown removes its pid file.
    await waitFor('the local postgres to stop', () => (existsSync(path.join(dir, 'postgres', 'data', 'postmaster.pid')) ? undefined : true), 30_000, 250);
  }

  beforeAll(async () => {
    // The machine's PostgreSQL: Debian keeps it off PATH, so put its bin dir there as a developer would.
    const pgBin = postgresBinDir();
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-data-local-'));
    // As root, postgres runs as the postgres user (local-postgres.sh): let it reach its folder.
    chmodSync(dir, 0o755);
    writeFileSync(path.join(os.tmpdir(), `meshloop-kubeconfig-${RUN_ID}`), 'apiVersion: v1\nkind: Config\n');
    env = {
      ...process.env,
      PATH: `${pgBin}:${process.env.PATH ?? ''}`,
      KUBECONFIG: path.join(os.tmpdir(), `meshloop-kubeconfig-${RUN_ID}`),
      MESHLOOP_FRONTEND_PORT: String(ports.frontend),
      MESHLOOP_FRONTEND_METRICS_PORT: String(ports.frontendMetrics),
      MESHLOOP_BUSINESS_LOGIC_PORT: String(ports.businessLogic),
      MESHLOOP_BUSINESS_LOGIC_METRICS_PORT: String(ports.businessLogicMetrics),
      MESHLOOP_POSTGRES_PORT: String(ports.postgres),
      MESHLOOP_POSTGRES_DIR: path.join(dir, 'postgres'),
      DATABASE_URL: '',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      MESHLOOP_TEST_RUN: RUN_ID,
    };
    await startTilt();
  }, 300_000);

  afterAll(async () => {
    if (tilt && tilt.exitCode === null) {
      tilt.kill('SIGINT');
      const stopped = await Promise.race([tiltExited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      if (stopped === 'timeout') tilt.kill('SIGKILL');
    }
    for (const pid of ownProcesses()) process.kill(pid, 'SIGKILL');
    // The local postgres this test's Tilt started, if it outlived Tilt (found by its pid file).
    const pidFile = path.join(dir, 'postgres', 'data', 'postmaster.pid');
    if (dir && existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGINT');
          await waitFor('the local postgres to stop', () => (existsSync(pidFile) ? undefined : true), 20_000, 200);
        } catch {
          // already gone
        }
      }
    }
    rmSync(path.join(os.tmpdir(), `meshloop-kubeconfig-${RUN_ID}`), { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('/slow stores its result and /history returns it; the data survives tilt down and a second tilt up', async () => {
    const slow = (await (await fetch(`http://127.0.0.1:${ports.businessLogic}/slow?delayMs=1`)).json()) as { stored: boolean; resultId: number };
    expect(slow.stored).toBe(true);
    const history = (await (await fetch(`http://127.0.0.1:${ports.businessLogic}/history?limit=5`)).json()) as { results: Array<{ id: number }> };
    expect(history.results[0]?.id).toBe(slow.resultId);

    await stopTilt();
    expect(existsSync(path.join(dir, 'postgres', 'data', 'PG_VERSION')), 'data directory kept by tilt down').toBe(true);
    await startTilt();
    const again = (await (await fetch(`http://127.0.0.1:${ports.businessLogic}/history?limit=5`)).json()) as { results: Array<{ id: number }> };
    expect(again.results.map((r) => r.id)).toContain(slow.resultId);
  }, 400_000);
});
