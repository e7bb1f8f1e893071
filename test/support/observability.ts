// Runs the project's observability configs outside the cluster: Jaeger and
// Prometheus configs are DERIVED from the files in observability/ (only listen
// addresses and service discovery change), so a test on the derived config is a
// test of the real file, and a drift in the real file shows up here.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { freePort, waitFor } from './ports';
import { repoRoot, toolPath } from './tools';

export const observabilityDir = path.join(repoRoot, 'observability');

/** Files under observability/ that are tool configuration, not Kubernetes objects. */
export const nonManifestFiles = [
  'observability/jaeger/config.yaml',
  'observability/prometheus/prometheus.yml',
  'observability/loki/loki.yaml',
  'observability/kiali/config.yaml',
  'observability/grafana/provisioning',
];


export function readText(relativeToObservability: string): string {
  return readFileSync(path.join(observabilityDir, relativeToObservability), 'utf8');
}

export function readYaml<T = unknown>(relativeToObservability: string): T {
  return parse(readText(relativeToObservability)) as T;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ------------------------------------------------------------------- Jaeger

export interface DerivedJaeger {
  config: JsonObject;
  yaml: string;
  /** Original listen port (as in observability/jaeger/config.yaml) -> port used here. */
  ports: Map<number, number>;
}

/**
 * observability/jaeger/config.yaml with every `endpoint: host:port` (receivers,
 * extensions) moved to 127.0.0.1:<portFor(port)>. Everything else is unchanged.
 */
export async function deriveJaegerConfig(portFor: (original: number) => number | Promise<number>): Promise<DerivedJaeger> {
  const config = readYaml<JsonObject>('jaeger/config.yaml');
  const ports = new Map<number, number>();
  const visit = async (node: Json): Promise<void> => {
    if (Array.isArray(node)) {
      for (const item of node) await visit(item);
    } else if (isObject(node)) {
      for (const [key, value] of Object.entries(node)) {
        const match = key === 'endpoint' && typeof value === 'string' ? /:(\d+)$/.exec(value) : null;
        if (match) {
          const original = Number(match[1]);
          const local = ports.get(original) ?? (await portFor(original));
          ports.set(original, local);
          node[key] = `127.0.0.1:${local}`;
        } else {
          await visit(value);
        }
      }
    }
  };
  await visit(config);
  return { config, yaml: stringify(config), ports };
}

// ------------------------------------------------------------------- Prometheus

/** A target as Kubernetes pod discovery would hand it to relabelling (labels may be __meta_*). */
export interface StaticTarget {
  address: string;
  labels: Record<string, string>;
}

/** What Prometheus' kubernetes_sd (role: pod) sets for one container port of a pod. */
export function podTarget(pod: {
  address: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  container: string;
  portName: string;
}): StaticTarget {
  const [ip, port] = pod.address.split(':');
  const labels: Record<string, string> = {
    __meta_kubernetes_namespace: pod.namespace,
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_ip: ip ?? '',
    __meta_kubernetes_pod_container_name: pod.container,
    __meta_kubernetes_pod_container_port_name: pod.portName,
    __meta_kubernetes_pod_container_port_number: port ?? '',
  };
  for (const [key, value] of Object.entries(pod.labels)) labels[`__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`] = value;
  return { address: pod.address, labels };
}

export function parsePrometheusVersion(output: string): [number, number, number] {
  const match = /version (\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) throw new Error(`cannot read a version from: ${output.slice(0, 200)}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function prometheusVersion(binary = toolPath('prometheus')): [number, number, number] {
  return parsePrometheusVersion(execFileSync(binary, ['--version'], { encoding: 'utf8' }));
}

export interface DerivedPrometheus {
  config: JsonObject;
  yaml: string;
}

export interface PrometheusDerivation {
  /** Static targets per job name; they replace the job's kubernetes_sd_configs. */
  targets: Record<string, StaticTarget[]>;
  /** Leave out jobs without targets (for a running Prometheus); default keeps them with none. */
  dropJobsWithoutTargets?: boolean;
  /** Shorter scrape interval for tests (the real one is 15s). */
  scrapeInterval?: string;
}

/**
 * observability/prometheus/prometheus.yml with each job's Kubernetes service
 * discovery replaced by static targets. Everything else (job names, metrics
 * paths, scrape protocols, relabelling) stays as written: the tests run the
 * Prometheus 3 release the cluster runs (toolPath('prometheus')), which reads
 * the file as it is.
 */
export function derivePrometheusConfig(options: PrometheusDerivation): DerivedPrometheus {
  const config = readYaml<JsonObject>('prometheus/prometheus.yml');
  const jobs = (config.scrape_configs as JsonObject[] | undefined) ?? [];
  const kept: JsonObject[] = [];
  for (const job of jobs) {
    const name = String(job.job_name);
    const targets = options.targets[name] ?? [];
    if (options.dropJobsWithoutTargets && targets.length === 0) continue;
    delete job.kubernetes_sd_configs;
    job.static_configs = targets.map((t) => ({ targets: [t.address], labels: t.labels }));
    kept.push(job);
  }
  config.scrape_configs = kept;
  if (options.scrapeInterval) {
    const global = isObject(config.global) ? config.global : {};
    config.global = { ...global, scrape_interval: options.scrapeInterval, scrape_timeout: options.scrapeInterval };
  }
  return { config, yaml: stringify(config) };
}

interface ContainerSpec {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
}

/** The first container of the Deployment in observability/<tool>/k8s.yaml. */
export function deploymentContainer(tool: string): ContainerSpec {
  const docs = parseAllDocuments(readText(`${tool}/k8s.yaml`)).map((d) => d.toJS() as JsonObject);
  const deployment = docs.find((d) => d.kind === 'Deployment') as
    | { spec: { template: { spec: { containers: ContainerSpec[] } } } }
    | undefined;
  const container = deployment?.spec.template.spec.containers[0];
  if (!container) throw new Error(`observability/${tool}/k8s.yaml has no Deployment container`);
  return container;
}

/** The Prometheus flags of the cluster Deployment that matter outside it (features, retention). */
export function prometheusRuntimeFlags(): string[] {
  return (deploymentContainer('prometheus').args ?? []).filter(
    (arg) => arg.startsWith('--enable-feature=') || arg.startsWith('--storage.tsdb.retention.time='),
  );
}

// ------------------------------------------------------------------- processes

export interface RunningTool {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startProcess(binary: string, args: string[], dir: string): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { child, output: () => output, stop };
}

async function startTool(
  name: string,
  binary: string,
  args: (dir: string) => string[],
  url: string,
  readyPath: string,
  files: Record<string, string>,
): Promise<RunningTool> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `meshloop-${name}-`));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const proc = startProcess(binary, args(dir), dir);
  const tool: RunningTool = { url, child: proc.child, output: proc.output, stop: proc.stop };
  try {
    await waitFor(`${name} at ${url}${readyPath}`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`${name} exited with ${proc.child.exitCode}`);
      const response = await fetch(`${url}${readyPath}`);
      return response.ok ? true : undefined;
    }, 30_000, 200);
  } catch (error) {
    await tool.stop();
    throw new Error(`${name} did not start: ${String(error)}\n--- output ---\n${proc.output()}`, { cause: error });
  }
  return tool;
}

/** Real Prometheus (its binary, not a service) on a free port with a temporary TSDB. */
export async function startPrometheus(configYaml: string): Promise<RunningTool> {
  const port = await freePort();
  return startTool(
    'prometheus',
    toolPath('prometheus'),
    (dir) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...prometheusRuntimeFlags(),
    ],
    `http://127.0.0.1:${port}`,
    '/-/ready',
    { 'prometheus.yml': configYaml },
  );
}

export interface RunningJaeger extends RunningTool {
  /** Zipkin v2 spans endpoint of this Jaeger. */
  zipkinUrl: string;
  derived: DerivedJaeger;
}

/** Real Jaeger v2 with the project's config, every listener moved to a free local port. */
export async function startJaeger(): Promise<RunningJaeger> {
  const derived = await deriveJaegerConfig(() => freePort());
  const port = (original: number) => {
    const local = derived.ports.get(original);
    if (local === undefined) throw new Error(`observability/jaeger/config.yaml sets no endpoint on port ${original}`);
    return local;
  };
  const tool = await startTool(
    'jaeger',
    toolPath('jaeger'),
    (dir) => ['--config', path.join(dir, 'config.yaml')],
    `http://127.0.0.1:${port(16686)}`,
    '/api/services',
    { 'config.yaml': derived.yaml },
  );
  await waitFor('jaeger health check', async () => ((await fetch(`http://127.0.0.1:${port(13133)}/status`)).ok ? true : undefined));
  return { ...tool, zipkinUrl: `http://127.0.0.1:${port(9411)}/api/v2/spans`, derived };
}

// ------------------------------------------------------------------- Prometheus / Jaeger HTTP APIs

export async function promQuery<T = { metric: Record<string, string>; value: [number, string] }>(prometheusUrl: string, query: string): Promise<T[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { status: string; data?: { result: T[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  return body.data?.result ?? [];
}

export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }>;
}

export async function queryExemplars(prometheusUrl: string, query: string, sinceMs: number): Promise<ExemplarSeries[]> {
  const params = new URLSearchParams({ query, start: String(sinceMs / 1000), end: String(Date.now() / 1000 + 60) });
  const response = await fetch(`${prometheusUrl}/api/v1/query_exemplars?${params}`);
  const body = (await response.json()) as { status: string; data?: ExemplarSeries[]; error?: string };
  if (body.status !== 'success') throw new Error(`query_exemplars ${query}: ${body.error}`);
  return body.data ?? [];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  tags: Array<{ key: string; value: unknown }>;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: Array<{ key: string; value: unknown }> }>;
}

/** GET /api/traces/<id> on Jaeger's query API; undefined while the trace is unknown. */
export async function jaegerTrace(jaegerUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const response = await fetch(`${jaegerUrl}/api/traces/${traceId}`);
  if (response.status === 404) return undefined;
  const body = (await response.json()) as { data?: JaegerTrace[] };
  return body.data?.[0];
}

export function spanTag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((tag) => tag.key === key)?.value;
}
