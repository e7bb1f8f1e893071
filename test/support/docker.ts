// The container tier's real Docker engine, for tests and benchmarks: Debian's
// dockerd started by scripts/container/docker-engine.sh (own data root and
// socket; every registry but localhost:5005 unreachable), base images built
// locally by scripts/container/base-images.sh (nothing can be pulled here),
// and the services' images built from services/Dockerfile.
// Nothing here skips: what cannot be installed or started throws an error
// that names what failed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
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
