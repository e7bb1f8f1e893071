// The add-ons' own configuration files (observability/<tool>/...), checked with the
// real tools where they run here (promtool, Prometheus, Jaeger) and against the
// manifests that mount them and the URLs the rest of the project uses.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifests, type KubeObject } from './support/manifests';
import { waitFor } from './support/ports';
import {
  derivePrometheusConfig,
  deploymentContainer,
  nonManifestFiles,
  observabilityDir,
  podTarget,
  prometheusVersion,
  promQuery,
  queryExemplars,
  readYaml,
  startJaeger,
  startPrometheus,
  type RunningTool,
  type StaticTarget,
} from './support/observability';
import { toolPath } from './support/tools';

interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  scrape_protocols?: string[];
  kubernetes_sd_configs?: Array<{ role: string; namespaces?: { names: string[] } }>;
  relabel_configs?: Array<{ source_labels?: string[]; regex?: string; action?: string; replacement?: string; target_label?: string }>;
}
const prometheusConfig = readYaml<{ scrape_configs: ScrapeJob[] }>('prometheus/prometheus.yml');
const job = (name: string): ScrapeJob => {
  const found = prometheusConfig.scrape_configs.find((j) => j.job_name === name);
  if (!found) throw new Error(`prometheus.yml has no job ${name}`);
  return found;
};

/** Ports of the Services in observability/ by "<service>.<namespace>.svc.cluster.local". */
function observabilityServicePorts(): Map<string, number[]> {
  const services = loadManifests(['observability'], nonManifestFiles)
    .map((m) => m.object)
    .filter((o): o is KubeObject & { spec: { ports: Array<{ port: number }> } } => o.kind === 'Service');
  return new Map(services.map((s) => [`${s.metadata.name}.${s.metadata.namespace}.svc.cluster.local`, s.spec.ports.map((p) => p.port)]));
}

function run(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe('Prometheus configuration (observability/prometheus/prometheus.yml)', () => {
  it('the tests run the Prometheus release the cluster Deployment names', () => {
    const image = deploymentContainer('prometheus').image;
    expect(`v${prometheusVersion(toolPath('prometheus')).join('.')}`).toBe(image.split(':').pop());
  });

  it('passes `promtool check config` as it is, and with its Kubernetes discovery swapped for static targets', async () => {
    const file = path.join(observabilityDir, 'prometheus', 'prometheus.yml');
    const asIs = await run(toolPath('promtool'), ['check', 'config', file]);
    expect(asIs.output).toContain('SUCCESS');
    expect(asIs.code).toBe(0);
    // Every job gets one placeholder target; relabelling, paths and protocols stay as written.
    const placeholder: StaticTarget[] = [{ address: '127.0.0.1:9', labels: {} }];
    const derived = derivePrometheusConfig({
      targets: Object.fromEntries(prometheusConfig.scrape_configs.map((j) => [j.job_name, placeholder])),
    });

    const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-promtool-'));
    try {
      const file = path.join(dir, 'prometheus.yml');
      writeFileSync(file, derived.yaml);
      const result = await run(toolPath('promtool'), ['check', 'config', file]);
      expect(result.output).toContain('SUCCESS');
      expect(result.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scrapes the services directly on their http-metrics ports in meshloop, OpenMetrics first (exemplars)', () => {
    const services = job('meshloop-services');
    expect(services.metrics_path ?? '/metrics').toBe('/metrics');
    expect(services.scrape_protocols?.[0]).toBe('OpenMetricsText1.0.0');
    expect(services.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['meshloop'] } }]);
    const keep = services.relabel_configs?.find((r) => r.action === 'keep');
    expect(keep?.source_labels).toEqual(['__meta_kubernetes_pod_container_port_name']);
    // The port name kept is the one the services' Deployments declare (k8s/).
    // PostgreSQL (k8s/postgres.yaml) is no service: no metrics port of its own, no
    // telemetry env (its sidecar's istio_tcp_* metrics come from the istio-sidecars job).
    const deployments = loadManifests(['k8s']).map((m) => m.object).filter((o) => o.kind === 'Deployment' && o.metadata.name !== 'postgres') as Array<
      KubeObject & { spec: { template: { spec: { containers: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> } } } }
    >;
    expect(deployments.map((d) => d.metadata.name)).toEqual(expect.arrayContaining(['business-logic', 'frontend']));
    for (const d of deployments) {
      const names = d.spec.template.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name);
      expect(names).toContain(keep?.regex);
    }
  });

  it('scrapes istiod, the ingress gateway and the sidecars (Istio standard metrics on the agent port 15020)', () => {
    const istiod = job('istiod');
    expect(istiod.relabel_configs?.find((r) => r.action === 'keep')?.regex).toBe('istiod;http-monitoring');
    for (const name of ['istio-ingressgateway', 'istio-sidecars']) {
      const proxies = job(name);
      expect(proxies.metrics_path).toBe('/stats/prometheus');
      const address = proxies.relabel_configs?.find((r) => r.target_label === '__address__');
      expect(address?.source_labels).toEqual(['__meta_kubernetes_pod_ip']);
      expect(address?.replacement).toBe('$1:15020');
    }
    expect(job('istio-ingressgateway').kubernetes_sd_configs?.[0]?.namespaces?.names).toEqual(['istio-system']);
    expect(job('istio-sidecars').kubernetes_sd_configs?.[0]?.namespaces?.names).toEqual(['meshloop']);
  });

  describe('run by a real Prometheus against discovered-pod stand-ins', () => {
    let prometheus: RunningTool | undefined;
    let server: Server | undefined;
    const accepts: string[] = [];
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    afterAll(async () => {
      await prometheus?.stop();
      server?.close();
    });

    it('keeps only http-metrics ports, labels targets service/version/namespace/pod, negotiates OpenMetrics and stores exemplars; proxies are scraped on :15020', async () => {
      // A stand-in for a service's metrics port: records the Accept header, answers OpenMetrics with an exemplar.
      server = createServer((req, res) => {
        accepts.push(req.headers.accept ?? '');
        res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
        res.end(
          [
            '# TYPE demo_requests counter',
            `demo_requests_total 1 # {trace_id="${traceId}"} 1`,
            '# EOF',
            '',
          ].join('\n'),
        );
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const pod = (name: string, app: string, container: string, portName: string, extra: Record<string, string> = {}) =>
        podTarget({ address, namespace: 'meshloop', name, labels: { app, version: 'v1', ...extra }, container, portName });
      // Envoy's declared port 15090 on another (unreachable) pod IP; the jobs must move it to the agent's :15020.
      const proxy = (namespace: string, name: string, labels: Record<string, string>) =>
        podTarget({ address: '127.0.0.2:15090', namespace, name, labels, container: 'istio-proxy', portName: 'http-envoy-prom' });
      const derived = derivePrometheusConfig({
        scrapeInterval: '1s',
        dropJobsWithoutTargets: true,
        targets: {
          'meshloop-services': [pod('frontend-7d9f', 'frontend', 'frontend', 'http-metrics'), pod('frontend-7d9f', 'frontend', 'frontend', 'http')],
          'istio-sidecars': [proxy('meshloop', 'frontend-7d9f', { app: 'frontend' }), pod('frontend-7d9f', 'frontend', 'frontend', 'http')],
          'istio-ingressgateway': [
            proxy('istio-system', 'istio-ingressgateway-5c4d', { istio: 'ingressgateway' }),
            proxy('istio-system', 'other-5c4d', { app: 'other' }),
          ],
        },
      });
      prometheus = await startPrometheus(derived.yaml);
      const url = prometheus.url;

      const byJob = await waitFor('Prometheus to scrape the meshloop-services stand-in', async () => {
        const response = await fetch(`${url}/api/v1/targets`);
        const body = (await response.json()) as {
          data: {
            activeTargets: Array<{ labels: Record<string, string>; scrapeUrl: string; health: string }>;
            droppedTargets: Array<{ discoveredLabels: Record<string, string> }>;
          };
        };
        const active = body.data.activeTargets;
        const services = active.filter((t) => t.labels.job === 'meshloop-services');
        return services.length === 1 && services[0]?.health === 'up' ? { active, dropped: body.data.droppedTargets } : undefined;
      });
      const services = byJob.active.filter((t) => t.labels.job === 'meshloop-services');
      expect(services[0]?.labels).toMatchObject({ service: 'frontend', version: 'v1', namespace: 'meshloop', pod: 'frontend-7d9f' });
      expect(byJob.dropped.filter((t) => t.discoveredLabels.job === 'meshloop-services')).toHaveLength(1);

      const proxies = byJob.active.filter((t) => t.labels.job === 'istio-sidecars' || t.labels.job === 'istio-ingressgateway');
      expect(proxies.map((t) => `${t.labels.job} ${t.scrapeUrl}`).sort()).toEqual([
        'istio-ingressgateway http://127.0.0.2:15020/stats/prometheus',
        'istio-sidecars http://127.0.0.2:15020/stats/prometheus',
      ]);

      expect(accepts[0]).toMatch(/^application\/openmetrics-text/);
      const series = await waitFor('the stand-in exemplar in Prometheus', async () => {
        const found = await queryExemplars(url, 'demo_requests_total', Date.now() - 60_000);
        return found.length > 0 ? found : undefined;
      });
      expect(series[0]?.exemplars[0]?.labels.trace_id).toBe(traceId);
      const up = await promQuery(url, 'up{job="meshloop-services"}');
      expect(up[0]?.value[1]).toBe('1');
    }, 60_000);
  });
});

describe('Jaeger configuration (observability/jaeger/config.yaml)', () => {
  interface JaegerConfig {
    service: { extensions: string[]; pipelines: { traces: { receivers: string[]; exporters: string[] } } };
    receivers: { zipkin: { endpoint: string }; otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
    extensions: {
      jaeger_query: { storage: { traces: string }; http: { endpoint: string } };
      jaeger_storage: { backends: Record<string, { memory?: { max_traces?: number } }> };
      healthcheckv2: { http: { endpoint: string } };
    };
    exporters: { jaeger_storage_exporter: { trace_storage: string } };
  }
  const config = readYaml<JaegerConfig>('jaeger/config.yaml');
  const port = (endpoint: string) => Number(/:(\d+)$/.exec(endpoint)?.[1]);

  it('receives Zipkin on 9411 and OTLP on 4317/4318, queries on 16686, in memory with a trace cap', () => {
    expect(config.service.pipelines.traces.receivers.sort()).toEqual(['otlp', 'zipkin']);
    expect(port(config.receivers.zipkin.endpoint)).toBe(9411);
    expect(port(config.receivers.otlp.protocols.grpc.endpoint)).toBe(4317);
    expect(port(config.receivers.otlp.protocols.http.endpoint)).toBe(4318);
    expect(port(config.extensions.jaeger_query.http.endpoint)).toBe(16686);
    expect(config.service.extensions).toEqual(expect.arrayContaining(['jaeger_storage', 'jaeger_query', 'healthcheckv2']));
    const store = config.exporters.jaeger_storage_exporter.trace_storage;
    expect(config.extensions.jaeger_query.storage.traces).toBe(store);
    const maxTraces = config.extensions.jaeger_storage.backends[store]?.memory?.max_traces ?? 0;
    expect(maxTraces).toBeGreaterThan(0);
    expect(maxTraces).toBeLessThanOrEqual(50_000);
  });

  it("listens on every port the jaeger Service and probes use (and those match docs/cluster-layout.md)", () => {
    const listening = new Set([
      port(config.receivers.zipkin.endpoint),
      port(config.receivers.otlp.protocols.grpc.endpoint),
      port(config.receivers.otlp.protocols.http.endpoint),
      port(config.extensions.jaeger_query.http.endpoint),
      port(config.extensions.healthcheckv2.http.endpoint),
    ]);
    const container = deploymentContainer('jaeger');
    for (const p of container.ports ?? []) expect(listening, `container port ${p.name}`).toContain(p.containerPort);
    const service = loadManifests(['observability/jaeger'], ['observability/jaeger/config.yaml'])
      .map((m) => m.object)
      .find((o) => o.kind === 'Service') as KubeObject & { spec: { ports: Array<{ name: string; port: number }> } };
    expect(Object.fromEntries(service.spec.ports.map((p) => [p.name, p.port]))).toEqual({
      'http-zipkin': 9411,
      'grpc-otlp': 4317,
      'http-otlp': 4318,
      'http-query': 16686,
    });
  });

  it('starts a real Jaeger v2 (derived config, local ports) that reports healthy and serves its query API', async () => {
    const jaeger = await startJaeger();
    try {
      expect([...jaeger.derived.ports.keys()].sort()).toEqual(expect.arrayContaining([4317, 4318, 9411, 13133, 16686]));
      const response = await fetch(`${jaeger.url}/api/services`);
      expect(response.status).toBe(200);
    } finally {
      await jaeger.stop();
    }
  }, 60_000);
});

describe('Loki configuration (observability/loki/loki.yaml)', () => {
  interface LokiConfig {
    auth_enabled: boolean;
    server: { http_listen_port: number };
    common: { path_prefix: string; storage: { filesystem: Record<string, string> } };
    schema_config: { configs: Array<{ from: string; store: string; object_store: string; schema: string; index: { period: string } }> };
    limits_config: Record<string, unknown>;
    compactor?: { retention_enabled?: boolean; delete_request_store?: string; working_directory?: string };
  }
  const loki = readYaml<LokiConfig>('loki/loki.yaml');

  it('has what native OTLP ingestion needs: schema v13, tsdb index, structured metadata allowed', () => {
    const schemas = loki.schema_config.configs;
    const current = schemas[schemas.length - 1];
    expect(current).toMatchObject({ store: 'tsdb', schema: 'v13', object_store: 'filesystem', index: { period: '24h' } });
    expect(loki.limits_config.allow_structured_metadata).toBe(true);
    expect(loki.auth_enabled).toBe(false);
  });

  it('sets small, explicit OTLP-related limits (structured metadata size and count, ingestion rate)', () => {
    const limits = loki.limits_config;
    for (const key of ['max_structured_metadata_size', 'max_structured_metadata_entries_count', 'ingestion_rate_mb', 'ingestion_burst_size_mb', 'retention_period']) {
      expect(limits[key], key).toBeDefined();
    }
    expect(Number(limits.max_structured_metadata_entries_count)).toBeGreaterThanOrEqual(16);
    expect(Number(limits.ingestion_rate_mb)).toBeLessThanOrEqual(16);
    // Retention is enforced by the compactor only when both are set.
    expect(loki.compactor?.retention_enabled).toBe(true);
    expect(loki.compactor?.delete_request_store).toBe('filesystem');
  });

  it('stores everything under the emptyDir of the Deployment and listens on the Service port', () => {
    const container = deploymentContainer('loki') as ReturnType<typeof deploymentContainer> & { volumeMounts?: Array<{ name: string; mountPath: string }> };
    const dataMount = container.volumeMounts?.find((m) => m.name === 'data')?.mountPath;
    expect(dataMount).toBe(loki.common.path_prefix);
    for (const dir of [...Object.values(loki.common.storage.filesystem), loki.compactor?.working_directory ?? '']) {
      expect(dir.startsWith(`${dataMount}/`), dir).toBe(true);
    }
    expect(container.ports?.find((p) => p.name === 'http')?.containerPort).toBe(loki.server.http_listen_port);
    expect(observabilityServicePorts().get('loki.observability.svc.cluster.local')).toEqual([3100]);
  });
});

describe('URLs between the add-ons and from the services', () => {
  it('every in-cluster URL in the Grafana datasources and the Kiali config names an observability Service port', () => {
    const ports = observabilityServicePorts();
    const datasources = readYaml<{ datasources: Array<{ url: string }> }>('grafana/provisioning/datasources/datasources.yaml').datasources;
    const kiali = readYaml<{ external_services: Record<string, { url?: string; internal_url?: string }> }>('kiali/config.yaml').external_services;
    const urls = [
      ...datasources.map((d) => d.url),
      ...Object.values(kiali).flatMap((s) => [s.url, s.internal_url].filter((u): u is string => !!u)),
    ];
    expect(urls.length).toBeGreaterThanOrEqual(6);
    for (const raw of urls) {
      const url = new URL(raw);
      expect(ports.get(url.hostname), raw).toContain(Number(url.port));
    }
  });

  it('the services in k8s/ send spans to Jaeger\'s Zipkin receiver and logs to Loki\'s OTLP endpoint', () => {
    const ports = observabilityServicePorts();
    // PostgreSQL (k8s/postgres.yaml) is no service: no metrics port of its own, no
    // telemetry env (its sidecar's istio_tcp_* metrics come from the istio-sidecars job).
    const deployments = loadManifests(['k8s']).map((m) => m.object).filter((o) => o.kind === 'Deployment' && o.metadata.name !== 'postgres') as Array<
      KubeObject & { spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } } }
    >;
    expect(deployments.map((d) => d.metadata.name)).toEqual(expect.arrayContaining(['business-logic', 'frontend']));
    for (const d of deployments) {
      const env = new Map(d.spec.template.spec.containers.flatMap((c) => c.env ?? []).map((e) => [e.name, e.value ?? '']));
      const zipkin = new URL(env.get('OTEL_EXPORTER_ZIPKIN_ENDPOINT') ?? 'http://missing');
      expect(`${zipkin.hostname}:${zipkin.port}${zipkin.pathname}`, d.metadata.name).toBe('jaeger.observability.svc.cluster.local:9411/api/v2/spans');
      expect(ports.get(zipkin.hostname)).toContain(9411);
      const logs = new URL(env.get('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') ?? 'http://missing');
      expect(`${logs.hostname}:${logs.port}${logs.pathname}`, d.metadata.name).toBe('loki.observability.svc.cluster.local:3100/otlp/v1/logs');
      expect(ports.get(logs.hostname)).toContain(3100);
    }
  });
});

describe('Kiali configuration (observability/kiali/config.yaml)', () => {
  const kiali = readYaml<{
    auth: { strategy: string };
    deployment: { namespace: string; view_only_mode: boolean };
    server: { port: number; web_root: string };
    external_services: { tracing: { enabled: boolean; provider: string; use_grpc: boolean; external_url: string }; grafana: { enabled: boolean; external_url: string } };
  }>('kiali/config.yaml');

  it('is anonymous and read-only, with tracing (Jaeger over HTTP) and Grafana enabled and linked to the port-forwards', () => {
    expect(kiali.auth.strategy).toBe('anonymous');
    expect(kiali.deployment).toMatchObject({ namespace: 'observability', view_only_mode: true });
    expect(kiali.external_services.tracing).toMatchObject({ enabled: true, provider: 'jaeger', use_grpc: false, external_url: 'http://localhost:16686' });
    expect(kiali.external_services.grafana).toMatchObject({ enabled: true, external_url: 'http://localhost:3000' });
  });

  it('serves on the container port the Service and probes use', () => {
    const container = deploymentContainer('kiali') as ReturnType<typeof deploymentContainer> & {
      readinessProbe?: { httpGet?: { path?: string } };
    };
    expect(container.ports?.[0]?.containerPort).toBe(kiali.server.port);
    expect(container.readinessProbe?.httpGet?.path).toBe(`${kiali.server.web_root}/healthz`);
    expect(observabilityServicePorts().get('kiali.observability.svc.cluster.local')).toEqual([kiali.server.port]);
  });
});
