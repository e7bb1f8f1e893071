import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { freePort, waitFor } from './ports';
import { repoRoot } from './tools';

export type ServiceName = 'frontend' | 'business-logic';

export interface ServiceProcess {
  name: ServiceName;
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
   * `direct`: one node process running the TypeScript entry under tsx, no watcher,
   * so its own exit code and signals are observable.
   */
  mode?: 'dev' | 'direct';
  readyTimeoutMs?: number;
}

const running = new Set<ServiceProcess>();

/** Starts one service as a real process and waits until /readyz answers 200. */
export async function startService(name: ServiceName, options: StartOptions = {}): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const metricsPort = options.metricsPort ?? (await freePort());
  const serviceDir = path.join(repoRoot, 'services', name);
  const [command, args] =
    options.mode === 'direct'
      ? [process.execPath, ['--import', 'tsx', '--conditions=source', '--import', '@meshloop/service-runtime/preload', 'src/server.ts']]
      : ['npm', ['run', '--silent', 'dev']];
  const child = spawn(command, args, {
    cwd: serviceDir,
    detached: true, // own process group: stop() reaches npm, tsx watch and node alike
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      ...options.env,
    },
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

  const service: ServiceProcess = {
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
      async () => ((await fetch(`${service.url}/readyz`)).ok ? true : undefined),
      options.readyTimeoutMs ?? 30_000,
      200,
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
export async function startServices(options: { env?: Record<string, string>; mode?: 'dev' | 'direct' } = {}): Promise<RunningServices> {
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
