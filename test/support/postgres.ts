import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, waitFor } from './ports';
import { repoRoot } from './tools';

/** Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin. */
function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((major) => existsSync(path.join(root, major, 'bin', 'postgres')));
  majors.sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : path.join(root, majors[0], 'bin');
}

/** The real PostgreSQL server binaries, installed with apt (scripts/ensure-tools.sh postgres) when missing. */
export function postgresBinDir(): string {
  const found = findBinDir();
  if (found) return found;
  try {
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'ensure-tools.sh'), 'postgres'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000 });
  } catch (error) {
    throw new Error(`postgres (Debian package postgresql) is required by this test and could not be installed: ${String(error)}`, { cause: error });
  }
  const installed = findBinDir();
  if (!installed) throw new Error('postgres is required by this test but /usr/lib/postgresql/*/bin/postgres is missing after scripts/ensure-tools.sh postgres');
  return installed;
}

/** postgres refuses to run as root: as root, the server runs as Debian's `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, postgres needs an unprivileged user: the `postgres` user of the postgresql package is missing');
  }
}

export interface PostgresServer {
  port: number;
  user: string;
  password: string;
  database: string;
  /** postgres://user:password@127.0.0.1:port/database */
  url: string;
  /** Everything the server wrote (for failure messages). */
  output(): string;
  /** Kills the server and its backends at once (SIGKILL to its process group): a crash, not a shutdown. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory (crash recovery runs). */
  start(): Promise<void>;
  /** Stops it and deletes the data directory. */
  destroy(): Promise<void>;
}

/**
 * A real PostgreSQL server for one test file: initdb in a temp dir, a
 * password-protected role, listening on 127.0.0.1 at a free port, its socket
 * in the data dir. fsync off: the tests need behaviour, not durability.
 */
export async function startPostgres({ database = 'meshloop' } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const owner = serverUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'meshloop-pg-'));
  const dataDir = path.join(dir, 'data');
  const user = 'meshloop';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const pwFile = path.join(dir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`);
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwFile, owner.uid, owner.gid);
  }
  chmodSync(dir, 0o700);
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {};
  execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--no-sync'], {
    ...asOwner,
    cwd: dir,
    stdio: 'pipe',
    env: { ...process.env, LC_ALL: 'C' },
  });
  const port = await freePort();
  let output = '';
  let child: ChildProcess | undefined;

  const client = () => new Client({ host: '127.0.0.1', port, user, password, database: 'postgres', connectionTimeoutMillis: 2000 });

  async function start(): Promise<void> {
    child = spawn(path.join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50'], {
      ...asOwner,
      cwd: dir,
      detached: true, // own process group: kill() reaches the backends too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(`postgres on port ${port}\n${output}`, async () => {
      if (child?.exitCode !== null) throw new Error(`postgres exited: ${output}`);
      const probe = client();
      try {
        await probe.connect();
        await probe.query('SELECT 1');
        return true;
      } finally {
        await probe.end().catch(() => undefined);
      }
    }, 30_000, 100);
  }

  async function kill(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.pid === undefined) return;
    const exited = once(running, 'exit');
    process.kill(-running.pid, 'SIGKILL');
    await exited;
    // The backends die with the group; wait until none is left holding shared memory.
    await waitFor('postgres backends gone', () => {
      try {
        process.kill(-(running.pid as number), 0);
        return undefined;
      } catch {
        return true;
      }
    }, 10_000, 50);
  }

  await start();
  const admin = client();
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  return {
    port,
    user,
    password,
    database,
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    output: () => output,
    kill,
    start,
    async destroy() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
