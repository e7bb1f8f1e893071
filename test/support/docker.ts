// The container tier's real Docker engine, for tests and benchmarks: Debian's
// dockerd started by scripts/container/docker-engine.sh (own data root and
// socket; every registry but localhost:5005 unreachable), base images built
// locally by scripts/container/base-images.sh (nothing can be pulled here),
// and the services' images built from services/Dockerfile.
// Nothing here skips: what cannot be installed or started throws an error
// that names what failed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { tarArchive } from './tar-sync';
import { repoRoot } from './tools';

export interface DockerEngine {
  /** unix:///run/meshloop-docker/docker.sock */
  host: string;
  /** Debian's CLI (/usr/bin/docker, BuildKit). Never /usr/local/bin/docker: it has no buildx. */
  cli: string;
  /** process.env plus DOCKER_HOST, DOCKER_BUILDKIT=1 and DOCKER (the CLI path). */
  env: NodeJS.ProcessEnv;
}

let engine: DockerEngine | undefined;
let baseImagesReady = false;

function failure(what: string, error: unknown): Error {
  const e = error as { stderr?: Buffer | string; stdout?: Buffer | string; message?: string };
  const detail = [e.stderr, e.stdout].map((s) => (s ? s.toString().trim() : '')).filter(Boolean).join('\n');
  return new Error(`${what}: ${detail || e.message || String(error)}`, { cause: error });
}

function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): string {
  return execFileSync('bash', [path.join(repoRoot, script), ...args], {
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts the tier's dockerd (or reuses the running one) and returns how to
 * talk to it. Installs docker.io and mmdebstrap through scripts/ensure-tools.sh
 * when they are missing.
 */
export function ensureDockerEngine(): DockerEngine {
  if (engine) return engine;
  if (!['/usr/sbin/dockerd', '/usr/bin/docker', '/usr/bin/mmdebstrap'].every((f) => existsSync(f))) {
    try {
      runScript('scripts/ensure-tools.sh', ['docker'], process.env, 10 * 60_000);
    } catch (error) {
      throw failure("Docker engine: Debian's docker.io and mmdebstrap could not be installed (scripts/ensure-tools.sh docker)", error);
    }
  }
  let out: string;
  try {
    out = runScript('scripts/container/docker-engine.sh', ['start'], process.env, 120_000);
  } catch (error) {
    throw failure('Docker engine: dockerd did not start (scripts/container/docker-engine.sh start; log in /var/log/meshloop-docker/dockerd.log)', error);
  }
  const vars = Object.fromEntries(
    out
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  ) as Record<string, string | undefined>;
  const host = vars.DOCKER_HOST;
  const cli = vars.DOCKER;
  if (!host || !cli) throw new Error(`Docker engine: docker-engine.sh start printed no DOCKER_HOST/DOCKER:\n${out}`);
  engine = { host, cli, env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '1', DOCKER: cli } };
  return engine;
}

/** Builds (or finds up to date) meshloop.local/debian:bookworm-minbase and node:22-bookworm-slim. */
export function ensureBaseImages(): DockerEngine {
  const { env } = ensureDockerEngine();
  if (!baseImagesReady) {
    try {
      runScript('scripts/container/base-images.sh', [], env, 30 * 60_000);
    } catch (error) {
      throw failure('Base images (scripts/container/base-images.sh) could not be built', error);
    }
    baseImagesReady = true;
  }
  return ensureDockerEngine();
}

export interface DockerOptions {
  /** Written to the command's stdin (e.g. a tar stream for `exec -i`). */
  input?: string | Buffer;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs the docker CLI against the tier's engine; returns stdout (trimmed); throws with stderr on failure. */
export function docker(args: string[], options: DockerOptions = {}): string {
  const { cli, env } = ensureDockerEngine();
  try {
    return execFileSync(cli, args, {
      env,
      cwd: options.cwd ?? repoRoot,
      input: options.input,
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    }).trim();
  } catch (error) {
    throw failure(`docker ${args.join(' ')}`, error);
  }
}

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The same without blocking the event loop (for calls made while requests
 * are in flight); resolves with the exit code instead of throwing.
 */
export function dockerAsync(args: string[], options: DockerOptions = {}): Promise<DockerResult> {
  const { cli, env } = ensureDockerEngine();
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { env, cwd: options.cwd ?? repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() });
    });
    child.stdin.end(options.input ?? '');
  });
}

export type ServiceName = 'frontend' | 'business-logic';
export type ServiceTarget = 'dev' | 'prod';

export interface BuildOptions {
  /** Image tag (default meshloop-test/<service>:<target>). */
  tag?: string;
  /** Build without Docker's layer cache (cold build; the npm cache mount stays). */
  noCache?: boolean;
}

/** Builds one target of services/Dockerfile for one service (context: the repository root); returns the tag. */
export function buildServiceImage(service: ServiceName, target: ServiceTarget, options: BuildOptions = {}): string {
  ensureBaseImages();
  const tag = options.tag ?? `meshloop-test/${service}:${target}`;
  const args = ['build', '--progress=plain', '-f', 'services/Dockerfile', '--build-arg', `SERVICE=${service}`, '--target', target, '-t', tag];
  if (options.noCache) args.push('--no-cache');
  docker([...args, '.'], { timeoutMs: 20 * 60_000 });
  return tag;
}

/**
 * Label for the containers and networks one test file creates, so that its
 * leftovers (a failed test's) can be found and removed without touching
 * another file's (vitest runs files in parallel).
 */
export function testLabel(suite: string): string {
  return `meshloop.test=${suite}`;
}

/** Removes the containers and networks carrying `label`. */
export function removeLabelled(label: string): void {
  const containers = docker(['ps', '-aq', '--filter', `label=${label}`]).split('\n').filter(Boolean);
  if (containers.length > 0) docker(['rm', '-f', '-v', ...containers]);
  const networks = docker(['network', 'ls', '-q', '--filter', `label=${label}`]).split('\n').filter(Boolean);
  if (networks.length > 0) docker(['network', 'rm', ...networks]);
}

export interface RunOptions {
  /** A testLabel(); the container carries it so leftovers can be removed. */
  label: string;
  name?: string;
  env?: Record<string, string>;
  /** Container ports to publish, each on an ephemeral port of 127.0.0.1 only. */
  ports?: number[];
  readOnly?: boolean;
  network?: string;
  /** DNS name of the container on `network`. */
  alias?: string;
  /** Further `docker run` flags (mounts, --user, --tmpfs...). */
  flags?: string[];
  /** Command (after the image's ENTRYPOINT). */
  command?: string[];
}

export interface Container {
  id: string;
  /** http://127.0.0.1:<published port> for a container port given in `ports`. */
  url(port: number): string;
  /** Everything the container wrote (stdout and stderr). */
  logs(): string;
  /** Removes it (running or not). */
  remove(): void;
}

/** `docker run -d` with the options; published ports are on 127.0.0.1 only. */
export function runContainer(image: string, options: RunOptions): Container {
  const args = ['run', '-d', '--label', options.label];
  if (options.name) args.push('--name', options.name);
  for (const [key, value] of Object.entries(options.env ?? {})) args.push('-e', `${key}=${value}`);
  for (const port of options.ports ?? []) args.push('-p', `127.0.0.1::${port}`);
  if (options.readOnly) args.push('--read-only');
  if (options.network) args.push('--network', options.network);
  if (options.alias) args.push('--network-alias', options.alias);
  args.push(...(options.flags ?? []), image, ...(options.command ?? []));
  const id = docker(args);
  const published = new Map<number, string>();
  for (const port of options.ports ?? []) {
    // "127.0.0.1:49153" (one line per address; only 127.0.0.1 was asked for)
    const address = docker(['port', id, `${port}/tcp`]).split('\n')[0] ?? '';
    published.set(port, `http://${address}`);
  }
  return {
    id,
    url: (port) => {
      const url = published.get(port);
      if (!url) throw new Error(`container port ${port} was not published`);
      return url;
    },
    logs: () => {
      const { cli, env } = ensureDockerEngine();
      const result = spawnSync(cli, ['logs', id], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      return `${result.stdout}${result.stderr}`;
    },
    remove: () => {
      docker(['rm', '-f', '-v', id]);
    },
  };
}

/**
 * One live-update sync as Tilt performs it: the files (paths relative to /,
 * e.g. app/services/x/src/app.ts) in a tar archive, piped to
 * `docker exec -i <c> tar -C / -x -f -`, which runs as the container's user.
 * GNU tar unlinks an existing file and creates a new one.
 */
export function tarSync(target: Pick<Container, 'id'>, files: Record<string, string>, options: { mtime?: Date } = {}): void {
  docker(['exec', '-i', target.id, 'tar', '-C', '/', '-x', '-f', '-'], { input: tarArchive(files, options) });
}

/**
 * fetch with a deadline. Needed for published ports: a connection made just
 * after `docker run` returns can be accepted by Docker's port proxy and then
 * never answered (seen with dockerd 20.10), and a fetch without a deadline
 * would wait forever instead of polling again.
 */
export async function fetchWithin(url: string, timeoutMs = 3000, init: RequestInit = {}): Promise<Response> {
  // A referenced timer, unlike AbortSignal.timeout's: such a stalled fetch
  // holds no other handle, so a plain script would exit mid-await.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    // Read the body inside the deadline too.
    const body = await response.arrayBuffer();
    return new Response([101, 204, 205, 304].includes(response.status) ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
  } finally {
    clearTimeout(timer);
  }
}
