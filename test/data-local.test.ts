// Storage in local mode: the Tiltfile's three cases (no database: off and said so;
// DATABASE_URL: used; --postgres: a `postgres` local_resource), then real Tilt
// with `--local --postgres` running the machine's PostgreSQL, /slow storing and
// /history reading back, and `tilt down` keeping the data directory.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/ports';
import { postgresBinDir } from './support/postgres';
import { runTilt, runTiltfileResult, tiltfileResult } from './support/tilt';
import { startTiltLocal, type TiltSession } from './support/tilt-session';
import { repoRoot } from './support/tools';

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

describe('local mode with real Tilt and the machine\'s PostgreSQL (tilt up -- --local --postgres)', () => {
  let tilt: TiltSession | undefined;
  let dir = '';
  let postgresPort = 0;
  const pidFile = () => path.join(dir, 'postgres', 'data', 'postmaster.pid');
  const businessLogic = (pathAndQuery: string) => fetch(`http://127.0.0.1:${tilt!.servicePorts.businessLogic}${pathAndQuery}`);

  async function startTilt(): Promise<void> {
    // The machine's PostgreSQL: Debian keeps it off PATH, so put its bin dir there as a developer would.
    const pgBin = postgresBinDir();
    // Only business-logic and what it depends on (postgres): the unit-test resources would
    // run vitest three times over alongside, and may still be finishing when Tilt stops.
    tilt = await startTiltLocal({
      cwd: repoRoot,
      flags: ['--postgres'],
      resources: ['business-logic'],
      env: {
        PATH: `${pgBin}:${process.env.PATH ?? ''}`,
        MESHLOOP_POSTGRES_PORT: String(postgresPort),
        MESHLOOP_POSTGRES_DIR: path.join(dir, 'postgres'),
        DATABASE_URL: undefined,
      },
      ready: async (session) => {
        const [postgres, service] = await Promise.all([session.status('postgres'), session.status('business-logic')]);
        return postgres.runtimeStatus === 'ok' && service.runtimeStatus === 'ok';
      },
    });
    await waitFor('storage ready', async () => {
      const body = (await (await businessLogic('/readyz')).json()) as { dependencies?: { postgres?: string } };
      return body.dependencies?.postgres === 'ready' ? true : undefined;
    }, 60_000, 250);
  }

  /** `tilt down`, then Ctrl-C: everything Tilt started must stop, postgres cleanly. */
  async function stopTilt(): Promise<void> {
    const down = await runTilt(['down', '--', '--local', '--postgres', 'business-logic'], tilt!.env);
    if (down.code !== 0) throw new Error(`tilt down failed: ${down.stderr}`);
    await tilt!.interrupt();
    await waitFor('Tilt\'s processes to exit', () => (tilt!.processes().length === 0 ? true : undefined), 30_000, 250).catch((error: unknown) => {
      const left = tilt!.processes().map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')}`);
      throw new Error(`${String(error)}; still running:\n${left.join('\n')}`);
    });
    // postgres rewrites its own environ (process titles), so it is not among the session's
    // processes: a clean shutdown removes its pid file.
    await waitFor('the local postgres to stop', () => (existsSync(pidFile()) ? undefined : true), 30_000, 250);
    await tilt!.stop();
  }

  beforeAll(async () => {
    postgresPort = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-data-local-'));
    // As root, postgres runs as the postgres user (local-postgres.sh): let it reach its folder.
    chmodSync(dir, 0o755);
    await startTilt();
  }, 300_000);

  afterAll(async () => {
    await tilt?.stop();
    // The local postgres this test's Tilt started, if it outlived Tilt (found by its pid file).
    if (dir && existsSync(pidFile())) {
      const pid = Number(readFileSync(pidFile(), 'utf8').split('\n')[0]);
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGINT');
          await waitFor('the local postgres to stop', () => (existsSync(pidFile()) ? undefined : true), 20_000, 200);
        } catch {
          // already gone
        }
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('/slow stores its result and /history returns it; the data survives tilt down and a second tilt up', async () => {
    const slow = (await (await businessLogic('/slow?delayMs=1')).json()) as { stored: boolean; resultId: number };
    expect(slow.stored).toBe(true);
    const history = (await (await businessLogic('/history?limit=5')).json()) as { results: Array<{ id: number }> };
    expect(history.results[0]?.id).toBe(slow.resultId);

    await stopTilt();
    expect(existsSync(path.join(dir, 'postgres', 'data', 'PG_VERSION')), 'data directory kept by tilt down').toBe(true);
    await startTilt();
    const again = (await (await businessLogic('/history?limit=5')).json()) as { results: Array<{ id: number }> };
    expect(again.results.map((r) => r.id)).toContain(slow.resultId);
  }, 400_000);
});
