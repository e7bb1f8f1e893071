import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from './ports';
import { repoRoot } from './tools';

export type ServiceName = 'frontend' | 'business-logic';

/** A running dev process; `N` is its name (a service, or a benchmark fixture). */
export interface ServiceProcess<N extends string = ServiceName> {
  name: N;
  url: string;
  metricsUrl: string;
  port: number;
  metricsPort: number;
  /** Every stdout line that parsed as JSON (pino), in order. */
  logs: Array<Record<string, unknown>>;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** pid of the service's node process (from its own log lines). */
  pid(): number | undefined;
  child: ChildProcess;
  /** SIGTERM to the whole process group; resolves with the exit code once it is gone. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string>;
  port?: number;
  metricsPort?: number;
  /**
   * `dev` (default): the service's `npm run dev` (tsx watch), as a developer runs it.
   * `watch`: the same dev script's command without npm in front (benchmarks:
   * npm's own start-up would blur the numbers).
   * `direct`: one node process running the TypeScript entry under tsx, no watcher,
   * so its own exit code and signals are observable.
   * `start`: the production `npm start` (compiled JavaScript in dist/; build first).
   */
  mode?: 'dev' | 'watch' | 'direct' | 'start';
  /** Folder with the package.json and src/ to run (default services/<name>). */
  dir?: string;
  readyTimeoutMs?: number;
  /** How often /readyz is polled while starting (benchmarks poll fast). */
  readyPollMs?: number;
  /** Path polled until it answers 200 (default /readyz). */
  readyPath?: string;
  /** Send stdout to /dev/null instead of collecting it (benchmarks under load). */
  discardStdout?: boolean;
  /** Runs the command inside another one (e.g. a namespace); default: as it is. */
  wrap?: (command: string, args: string[]) => [string, string[]];
}

const running = new Set<ServiceProcess<string>>();

/** Starts one service as a real process and waits until /readyz answers 200. */
/** The package's `dev` script as argv, its first word resolved in node_modules/.bin. */
function devScriptArgv(serviceDir: string, env: NodeJS.ProcessEnv): [string, string[]] {
  const pkg = JSON.parse(readFileSync(path.join(serviceDir, 'package.json'), 'utf8')) as { scripts?: { dev?: string } };
  const [bin, ...args] = (pkg.scripts?.dev ?? '').split(/\s+/).filter(Boolean);
  if (!bin) throw new Error(`${serviceDir}/package.json has no dev script`);
  return [path.join(repoRoot, 'node_modules', '.bin', bin), args.map((arg) => expandDefaults(arg, env))];
}

/** `${NAME:-default}` as sh expands it (the dev script runs under sh when npm runs it). */
export function expandDefaults(arg: string, env: NodeJS.ProcessEnv): string {
  return arg.replace(/\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}/g, (_, name: string, fallback: string) => env[name] || fallback);
}

export async function startService<N extends string = ServiceName>(name: N, options: StartOptions = {}): Promise<ServiceProcess<N>> {
  const port = options.port ?? (await freePort());
  const metricsPort = options.metricsPort ?? (await freePort());
  const serviceDir = options.dir ?? path.join(repoRoot, 'services', name);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    // The inspector on an ephemeral loopback port: many dev processes run at
    // once in tests, and none may take a developer's 9229/9230.
    DEBUG_PORT: '0',
    LOG_LEVEL: 'info',
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    ...options.env,
  };
  const [command, args]: [string, string[]] =
    options.mode === 'direct'
      ? [process.execPath, ['--import', 'tsx', '--conditions=source', '--import', '@meshloop/service-runtime/preload', 'src/server.ts']]
      : options.mode === 'watch'
        ? devScriptArgv(serviceDir, env)
        : ['npm', ['run', '--silent', options.mode === 'start' ? 'start' : 'dev']];
  const [wrappedCommand, wrappedArgs] = options.wrap ? options.wrap(command, args) : [command, args];
  const child = spawn(wrappedCommand, wrappedArgs, {
    cwd: serviceDir,
    detached: true, // own process group: stop() reaches npm, tsx watch and node alike
    stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'],
    env,
  });
  let output = '';
  const logs: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object') logs.push(parsed as Record<string, unknown>);
      } catch {
        // tsx watch's own messages are not JSON
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const service: ServiceProcess<N> = {
    name,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    port,
    metricsPort,
    logs,
    output: () => output,
    pid: () => {
      const last = [...logs].reverse().find((line) => typeof line.pid === 'number');
      return last?.pid as number | undefined;
    },
    child,
    stop: async () => {
      running.delete(service);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return child.exitCode;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(service);

  try {
    const ready = waitFor(
      `${name} /readyz on port ${port}`,
      async () => ((await fetch(`${service.url}${options.readyPath ?? '/readyz'}`)).ok ? true : undefined),
      options.readyTimeoutMs ?? 30_000,
      options.readyPollMs ?? 200,
    );
    const died = exited.then((code) => {
      throw new Error(`${name} exited with ${code}`);
    });
    died.catch(() => undefined); // only matters if it wins the race
    await Promise.race([ready, died]);
  } catch (error) {
    await service.stop();
    throw new Error(`${name} did not become ready: ${String(error)}\n--- output ---\n${output}`, { cause: error });
  }
  return service;
}

export interface RunningServices {
  frontend: ServiceProcess;
  businessLogic: ServiceProcess;
  frontendUrl: string;
  businessLogicUrl: string;
  frontendMetricsUrl: string;
  businessLogicMetricsUrl: string;
  stop(): Promise<void>;
}

/** business-logic, then frontend pointed at it; both by their dev script. */
export async function startServices(options: { env?: Record<string, string>; mode?: StartOptions['mode'] } = {}): Promise<RunningServices> {
  const [businessLogic, frontendPort] = await Promise.all([startService('business-logic', options), freePort()]);
  const frontend = await startService('frontend', {
    ...options,
    port: frontendPort,
    env: { BUSINESS_LOGIC_URL: businessLogic.url, ...options.env },
  }).catch(async (error: unknown) => {
    await businessLogic.stop();
    throw error;
  });
  return {
    frontend,
    businessLogic,
    frontendUrl: frontend.url,
    businessLogicUrl: businessLogic.url,
    frontendMetricsUrl: frontend.metricsUrl,
    businessLogicMetricsUrl: businessLogic.metricsUrl,
    stop: async () => {
      await Promise.all([frontend.stop(), businessLogic.stop()]);
    },
  };
}

/** Safety net for a test that failed before its own cleanup. */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((service) => service.stop()));
}
