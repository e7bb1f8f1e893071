// A real `tilt up` in local mode, in a folder of the test's choosing (usually a
// copy of the repository), with free ports, read through Tilt's own CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './ports';
import { missingWebAssetsHint, runTilt, type TiltRun } from './tilt';
import { toolPath } from './tools';

/** One finished (or running) update of a resource, as `tilt get uiresource` reports it. */
export interface Build {
  startTime: string;
  finishTime?: string;
  error?: string;
}

export interface ResourceStatus {
  /** ok | error | in_progress | pending | none */
  updateStatus: string;
  /** ok | pending | error | not_applicable ... (serve processes) */
  runtimeStatus: string;
  /** Newest first. */
  buildHistory: Build[];
  currentBuild?: Build;
}

/** Every local port the session hands to the two services (MESHLOOP_<SVC>_{,METRICS_,DEBUG_}PORT). */
export type ServicePorts = Record<'frontend' | 'frontendMetrics' | 'frontendDebug' | 'businessLogic' | 'businessLogicMetrics' | 'businessLogicDebug', number>;

export interface TiltSession {
  /** Tilt's API/web port. */
  port: number;
  servicePorts: ServicePorts;
  /** The environment Tilt runs with (for `tilt down` and other CLI calls without --port). */
  env: NodeJS.ProcessEnv;
  cli(args: string[]): Promise<TiltRun>;
  status(resource: string): Promise<ResourceStatus>;
  /** `tilt logs <resource>`. */
  logs(resource: string): Promise<string>;
  /** Tilt's own output so far (for failure messages). */
  output(): string;
  /** Processes Tilt started that are still running (found by the session's marker variable). */
  processes(): number[];
  /** SIGINT to Tilt, as Ctrl-C does; true when it exited within `timeoutMs`. */
  interrupt(timeoutMs?: number): Promise<boolean>;
  /** Ends it all: interrupt, then SIGKILL to Tilt and whatever it left running; removes the session's files. */
  stop(): Promise<void>;
}

export interface TiltSessionOptions {
  /** Folder with the Tiltfile. */
  cwd: string;
  /** Resources to enable (the Tiltfile's positional arguments); all when empty. */
  resources: string[];
  /** Tiltfile flags after `--local` (e.g. `--postgres`). */
  flags?: string[];
  /** Variables on top of the session's (undefined removes one). */
  env?: Record<string, string | undefined>;
  /** Resolves once the session is usable (called every second until it returns true). */
  ready(session: TiltSession): Promise<boolean>;
  readyTimeoutMs?: number;
}

const isoTime = (value: string | undefined) => (value ? Date.parse(value) : NaN);

/** The newest build that started at or after `sinceMs` and has finished, if any. */
export function finishedBuildSince(status: ResourceStatus, sinceMs: number): Build | undefined {
  const build = status.buildHistory[0];
  return build && isoTime(build.startTime) >= sinceMs && build.finishTime ? build : undefined;
}

/** Milliseconds since the epoch of a Tilt timestamp (RFC 3339 with microseconds). */
export const tiltTime = (value: string): number => isoTime(value);

/** Processes started under `marker` (Tilt passes its environment on to everything it runs). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  if (!existsSync('/proc')) return pids;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

export async function startTiltLocal(options: TiltSessionOptions): Promise<TiltSession> {
  const marker = `MESHLOOP_TEST_RUN=${randomUUID()}`;
  const port = await freePort();
  const servicePorts: ServicePorts = {
    frontend: await freePort(),
    frontendMetrics: await freePort(),
    frontendDebug: await freePort(),
    businessLogic: await freePort(),
    businessLogicMetrics: await freePort(),
    businessLogicDebug: await freePort(),
  };
  const home = mkdtempSync(path.join(os.tmpdir(), 'meshloop-tilt-session-'));
  // An empty kubeconfig: local mode must not need (or touch) any cluster.
  writeFileSync(path.join(home, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: path.join(home, 'kubeconfig'),
    MESHLOOP_FRONTEND_PORT: String(servicePorts.frontend),
    MESHLOOP_FRONTEND_METRICS_PORT: String(servicePorts.frontendMetrics),
    MESHLOOP_FRONTEND_DEBUG_PORT: String(servicePorts.frontendDebug),
    MESHLOOP_BUSINESS_LOGIC_PORT: String(servicePorts.businessLogic),
    MESHLOOP_BUSINESS_LOGIC_METRICS_PORT: String(servicePorts.businessLogicMetrics),
    MESHLOOP_BUSINESS_LOGIC_DEBUG_PORT: String(servicePorts.businessLogicDebug),
    // No collectors run here: spans and logs stay in the processes.
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    ...options.env,
    [marker.split('=')[0]!]: marker.split('=')[1],
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  let output = '';
  // --web-mode prod: serve the bundled web assets (a build from source would
  // otherwise look for a webpack dev server).
  const tilt: ChildProcess = spawn(
    toolPath('tilt'),
    ['up', '--port', String(port), '--web-mode', 'prod', '--stream', '--', '--local', ...(options.flags ?? []), ...options.resources],
    { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  tilt.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  tilt.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => tilt.once('exit', (code) => resolve(code)));

  const cli = (args: string[]) => runTilt([...args, '--port', String(port)], env);
  const running = () => tilt.exitCode === null && tilt.signalCode === null;
  const session: TiltSession = {
    port,
    servicePorts,
    env,
    cli,
    async status(resource) {
      const run = await cli(['get', 'uiresource', resource, '-o', 'json']);
      if (run.code !== 0) throw new Error(`tilt get uiresource ${resource}: ${run.stderr}`);
      const status = (JSON.parse(run.stdout) as { status?: Partial<ResourceStatus> }).status ?? {};
      return {
        updateStatus: status.updateStatus ?? '',
        runtimeStatus: status.runtimeStatus ?? '',
        buildHistory: status.buildHistory ?? [],
        currentBuild: status.currentBuild,
      };
    },
    async logs(resource) {
      const run = await cli(['logs', resource]);
      if (run.code !== 0) throw new Error(`tilt logs ${resource}: ${run.stderr}`);
      return run.stdout;
    },
    output: () => output,
    processes: () => processesWith(marker),
    async interrupt(timeoutMs = 30_000) {
      if (!running()) return true;
      tilt.kill('SIGINT'); // Tilt stops its serve processes on the way out
      const stopped = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs))]);
      return stopped !== 'timeout';
    },
    async stop() {
      if (!(await session.interrupt())) tilt.kill('SIGKILL');
      for (const pid of processesWith(marker)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      rmSync(home, { recursive: true, force: true });
    },
  };

  try {
    const outcome = await waitFor(
      'the Tilt session to be ready',
      async () => {
        if (!running()) return 'exited';
        return (await options.ready(session)) ? 'ready' : undefined;
      },
      options.readyTimeoutMs ?? 180_000,
      1000,
    );
    if (outcome === 'exited') throw new Error(`tilt up exited early${missingWebAssetsHint(output)}`);
  } catch (error) {
    await session.stop();
    throw new Error(`${String(error)}\n--- tilt output ---\n${output.slice(-4000)}`, { cause: error });
  }
  return session;
}
