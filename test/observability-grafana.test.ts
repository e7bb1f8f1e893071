// Grafana's provisioning (observability/grafana/): datasources with fixed uids and
// the links between metrics, traces and logs, and the dashboards written here —
// checked against what Grafana does with the files, what the services really
// expose (their live /metrics), what Istio documents, and a real Prometheus.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import {
  deploymentContainer,
  derivePrometheusConfig,
  observabilityDir,
  podTarget,
  promQuery,
  readText,
  readYaml,
  startPrometheus,
  type RunningTool,
} from './support/observability';
import { startServices, stopAllServices, type RunningServices } from './support/services';

/**
 * Istio's standard metrics and their labels, from the Istio documentation page
 * "Istio Standard Metrics" (https://istio.io/latest/docs/reference/config/metrics/).
 * DISTRIBUTIONs are Prometheus histograms (_bucket, _sum, _count).
 */
const istioStandardMetrics = {
  counters: [
    'istio_requests_total',
    'istio_request_messages_total',
    'istio_response_messages_total',
    'istio_tcp_sent_bytes_total',
    'istio_tcp_received_bytes_total',
    'istio_tcp_connections_opened_total',
    'istio_tcp_connections_closed_total',
  ],
  distributions: ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes'],
  labels: [
    'reporter',
    'source_workload',
    'source_workload_namespace',
    'source_principal',
    'source_app',
    'source_version',
    'source_cluster',
    'source_canonical_service',
    'source_canonical_revision',
    'destination_workload',
    'destination_workload_namespace',
    'destination_principal',
    'destination_app',
    'destination_version',
    'destination_service',
    'destination_service_name',
    'destination_service_namespace',
    'destination_cluster',
    'destination_canonical_service',
    'destination_canonical_revision',
    'request_protocol',
    'response_code',
    'grpc_response_status',
    'response_flags',
    'connection_security_policy',
  ],
};
const istioMetricNames = new Set([
  ...istioStandardMetrics.counters,
  ...istioStandardMetrics.distributions.flatMap((m) => [`${m}_bucket`, `${m}_sum`, `${m}_count`]),
]);

// ------------------------------------------------------------------ files

interface Datasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData?: {
    exemplarTraceIdDestinations?: Array<{ name: string; datasourceUid: string }>;
    tracesToLogsV2?: { datasourceUid: string; filterByTraceID?: boolean; customQuery?: boolean; query?: string };
    derivedFields?: Array<{ name: string; matcherType?: string; matcherRegex: string; datasourceUid?: string; url?: string }>;
  };
}
interface Target {
  refId: string;
  expr?: string;
  exemplar?: boolean;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; datasource?: { uid?: string }; query?: string | { query?: string } }> };
}

const datasourcesFile = 'grafana/provisioning/datasources/datasources.yaml';
const providersFile = 'grafana/provisioning/dashboards/dashboards.yaml';
const datasources = readYaml<{ datasources: Datasource[] }>(datasourcesFile).datasources;
const datasource = (uid: string) => {
  const found = datasources.find((d) => d.uid === uid);
  if (!found) throw new Error(`no datasource with uid ${uid}`);
  return found;
};
const dashboardDir = path.join(observabilityDir, 'grafana', 'dashboards');
const dashboardFiles = readdirSync(dashboardDir).filter((f) => f.endsWith('.json')).sort();
const dashboards = dashboardFiles.map((file) => ({ file, json: JSON.parse(readFileSync(path.join(dashboardDir, file), 'utf8')) as Dashboard }));
const dashboard = (uid: string) => {
  const found = dashboards.find((d) => d.json.uid === uid)?.json;
  if (!found) throw new Error(`no dashboard with uid ${uid}`);
  return found;
};
const targetsOf = (d: Dashboard) => d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));

/**
 * What Grafana makes of a string in a provisioning file: `$$` is a literal `$`,
 * every other `$NAME` / `${...}` is replaced from the environment
 * (pkg/services/provisioning/values: split on "$$", os.ExpandEnv each part).
 * Returns the value with an empty environment and the references it expanded.
 */
function grafanaProvisioningValue(raw: string): { value: string; expanded: string[] } {
  const expanded: string[] = [];
  const parts = raw.split('$$').map((part) =>
    part.replace(/\$(\{[^}]*\}|[A-Za-z0-9_]+)/g, (reference) => {
      expanded.push(reference);
      return '';
    }),
  );
  return { value: parts.join('$'), expanded };
}

function strings(value: unknown, where: string): Array<{ where: string; value: string }> {
  if (typeof value === 'string') return [{ where, value }];
  if (Array.isArray(value)) return value.flatMap((item, i) => strings(item, `${where}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => strings(item, `${where}.${key}`));
  return [];
}

/** Every datasource uid an object refers to: `datasourceUid` fields and `datasource: {uid}`. */
function referencedUids(value: unknown, where: string): Array<{ where: string; uid: string }> {
  if (Array.isArray(value)) return value.flatMap((item, i) => referencedUids(item, `${where}[${i}]`));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => {
    const here = `${where}.${key}`;
    if (key === 'datasourceUid' && typeof item === 'string') return [{ where: here, uid: item }];
    if (key === 'datasource' && item && typeof item === 'object' && typeof (item as { uid?: unknown }).uid === 'string') {
      return [{ where: here, uid: (item as { uid: string }).uid }];
    }
    return referencedUids(item, here);
  });
}

const promqlKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/** Metric names in a PromQL expression (strings, label matchers, ranges, grouping labels and functions removed). */
export function promqlMetricNames(expr: string): string[] {
  const labelValues = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(expr.trim());
  if (labelValues) return [labelValues[1] ?? ''];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$[A-Za-z_]\w*/g, ' ');
  const names = [...stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1] ?? '');
  return [...new Set(names.filter((n) => !promqlKeywords.has(n.toLowerCase())))];
}

/** Label names a PromQL expression groups by or matches on. */
function promqlLabelNames(expr: string): string[] {
  const grouped = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(',').map((l) => l.trim()));
  const matched = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...(m[1] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] ?? ''));
  return [...new Set([...grouped, ...matched].filter((l) => l && l !== 'le'))];
}

/** Sample names in a Prometheus / OpenMetrics exposition. */
function exposedMetricNames(text: string): Set<string> {
  return new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''));
}

// ------------------------------------------------------------------ static checks

describe('helpers of this file', () => {
  it('the PromQL metric extractor returns metric names, not functions, labels, keywords or variables', () => {
    expect(promqlMetricNames('sum by (service, route) (rate(http_x_count{service=~"$service", route="a b"}[$__rate_interval])) / on (service) group_left sum(up)')).toEqual(['http_x_count', 'up']);
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination"}[1m])))')).toEqual([
      'istio_request_duration_milliseconds_bucket',
    ]);
    expect(promqlMetricNames('label_values(http_x_count{service=~"$service"}, route)')).toEqual(['http_x_count']);
    expect(grafanaProvisioningValue('a $${x} $HOME ${y.z} $$')).toEqual({ value: 'a ${x}   $', expanded: ['$HOME', '${y.z}'] });
  });
});

describe('Grafana datasources (provisioning/datasources)', () => {
  it('are Prometheus, Jaeger and Loki with the fixed uids prometheus, jaeger and loki', () => {
    expect(datasources.map((d) => `${d.uid}:${d.type}`).sort()).toEqual(['jaeger:jaeger', 'loki:loki', 'prometheus:prometheus']);
    expect(new Set(datasources.map((d) => d.name)).size).toBe(datasources.length);
  });

  it('no value is eaten by Grafana\'s environment interpolation: every literal $ is written $$', () => {
    for (const file of [datasourcesFile, providersFile]) {
      for (const { where, value } of strings(readYaml(file), file)) {
        expect(grafanaProvisioningValue(value).expanded, where).toEqual([]);
      }
    }
  });

  it('Prometheus exemplars link their trace_id to the Jaeger datasource', () => {
    expect(datasource('prometheus').jsonData?.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: 'jaeger' }),
    ]);
  });

  it('Jaeger links a span to the Loki lines of its trace, filtering on trace_id as structured metadata', () => {
    const link = datasource('jaeger').jsonData?.tracesToLogsV2;
    expect(link).toMatchObject({ datasourceUid: 'loki', filterByTraceID: true, customQuery: true });
    const query = grafanaProvisioningValue(link?.query ?? '').value;
    // As Grafana sends it for one span: a stream selector, then a label filter on the
    // structured metadata trace_id (OTLP logs have no trace id in the line itself).
    const sent = query.replaceAll('${__span.traceId}', '4bf92f3577b34da6a3ce929d0e0e4736');
    const match = /^\{([^}]+)\}\s*\|\s*trace_id="([0-9a-f]{32})"$/.exec(sent);
    expect(match, query).not.toBeNull();
    // Loki needs one matcher that cannot match the empty string; service_name is
    // the label Loki makes of the OTLP resource attribute service.name.
    expect(match?.[1]).toMatch(/^service_name(=~"\.\+"|="[^"]+")$/);
  });

  it('Loki turns the trace_id structured metadata (matched as a label) into a link to Jaeger', () => {
    const fields = datasource('loki').jsonData?.derivedFields ?? [];
    expect(fields).toHaveLength(1);
    const field = fields[0]!;
    expect(field).toMatchObject({ matcherType: 'label', datasourceUid: 'jaeger' });
    // Grafana tests the regex against each label key of a line.
    const regex = new RegExp(grafanaProvisioningValue(field.matcherRegex).value);
    expect(['trace_id', 'span_id', 'trace_flags', 'service_name'].filter((key) => regex.test(key))).toEqual(['trace_id']);
    expect(grafanaProvisioningValue(field.url ?? '').value).toBe('${__value.raw}');
  });

  it('every datasource uid referenced by a dashboard, a correlation or a derived field exists', () => {
    const uids = new Set(datasources.map((d) => d.uid));
    const references = [
      ...referencedUids(datasources, datasourcesFile),
      ...dashboards.flatMap((d) => referencedUids(d.json, d.file)),
    ];
    expect(references.length).toBeGreaterThan(10);
    for (const { where, uid } of references) expect(uids, where).toContain(uid);
  });
});

describe('Grafana dashboards (observability/grafana/dashboards)', () => {
  it('are valid JSON with unique uids, unique panel ids and a refId on every target', () => {
    expect(dashboardFiles).toEqual(['mesh-overview.json', 'service-red.json']);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    for (const { file, json } of dashboards) {
      const ids = json.panels.map((p) => p.id);
      expect(ids.every((id) => Number.isInteger(id)), file).toBe(true);
      expect(new Set(ids).size, `${file} panel ids`).toBe(ids.length);
      for (const { panel, target } of targetsOf(json)) {
        expect(target.refId, `${file} panel ${panel.title}`).toBeTruthy();
        expect(target.expr, `${file} panel ${panel.title}`).toBeTruthy();
      }
    }
  });

  it('service RED: request rate, 5xx error rate and p50/p95/p99 by service and route from the request histogram, with exemplars', () => {
    const red = targetsOf(dashboard('meshloop-red')).map(({ target }) => target);
    const exprs = red.map((t) => t.expr ?? '');
    expect(exprs.some((e) => /^sum by \(service, route\) \(rate\(http_server_request_duration_seconds_count\{/.test(e))).toBe(true);
    expect(exprs.some((e) => e.includes('status_code=~"5.."') && e.includes(' / '))).toBe(true);
    for (const q of ['0.50', '0.95', '0.99']) {
      const quantile = red.find((t) => t.expr?.startsWith(`histogram_quantile(${q}, sum by (le, service, route) (rate(http_server_request_duration_seconds_bucket`));
      expect(quantile, `p${Number(q) * 100}`).toBeDefined();
      expect(quantile?.exemplar, `p${Number(q) * 100} exemplars`).toBe(true);
    }
  });

  it('mesh overview: Istio requests and latency by source -> destination workload, and response codes', () => {
    const exprs = targetsOf(dashboard('meshloop-mesh')).map(({ target }) => target.expr ?? '');
    expect(exprs.some((e) => e.includes('sum by (source_workload, destination_workload) (rate(istio_requests_total'))).toBe(true);
    expect(exprs.some((e) => e.includes('sum by (le, source_workload, destination_workload) (rate(istio_request_duration_milliseconds_bucket'))).toBe(true);
    expect(exprs.some((e) => /by \([^)]*response_code[^)]*\) \(rate\(istio_requests_total/.test(e))).toBe(true);
    // Opaque TCP (business-logic -> postgres on tcp-postgres): bytes and connections by source -> destination.
    for (const metric of ['istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total', 'istio_tcp_connections_opened_total']) {
      expect(exprs.some((e) => e.includes(`sum by (source_workload, destination_workload) (rate(${metric}{`)), metric).toBe(true);
    }
  });

  it('Istio series are queried only by the labels Istio documents for its standard metrics', () => {
    for (const { json } of dashboards) {
      for (const { target } of targetsOf(json)) {
        const expr = target.expr ?? '';
        if (!promqlMetricNames(expr).some((m) => istioMetricNames.has(m))) continue;
        for (const label of promqlLabelNames(expr)) expect(istioStandardMetrics.labels, `${label} in ${expr}`).toContain(label);
      }
    }
  });

  it('are served from where the ConfigMap is mounted; the home dashboard is one of them', () => {
    const provider = readYaml<{ providers: Array<{ type: string; options: { path: string } }> }>(providersFile).providers;
    const container = deploymentContainer('grafana') as ReturnType<typeof deploymentContainer> & {
      volumeMounts: Array<{ name: string; mountPath: string }>;
      env: Array<{ name: string; value?: string }>;
    };
    const mount = (name: string) => container.volumeMounts.find((m) => m.name === name)?.mountPath;
    expect(provider.map((p) => `${p.type} ${p.options.path}`)).toEqual([`file ${mount('dashboards')}`]);
    expect(mount('datasources')).toBe('/etc/grafana/provisioning/datasources');
    expect(mount('dashboard-providers')).toBe('/etc/grafana/provisioning/dashboards');
    const home = container.env.find((e) => e.name === 'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH')?.value ?? '';
    expect(path.dirname(home)).toBe(mount('dashboards'));
    expect(dashboardFiles).toContain(path.basename(home));
  });

  it('Kiali links dashboards that exist, by title, with variables they define', () => {
    const kiali = readYaml<{ external_services: { grafana: { dashboards: Array<{ name: string; variables: Record<string, string> }> } } }>('kiali/config.yaml');
    const linked = kiali.external_services.grafana.dashboards;
    expect(linked.length).toBeGreaterThan(0);
    for (const link of linked) {
      const target = dashboards.find((d) => d.json.title === link.name)?.json;
      expect(target, link.name).toBeDefined();
      const variables = new Set(target?.templating.list.map((v) => `var-${v.name}`));
      for (const variable of Object.values(link.variables)) expect(variables, `${link.name}: ${variable}`).toContain(variable);
    }
  });

  it('give Grafana no password: anonymous Viewer, no login form, no initial admin', () => {
    const env = new Map(
      (deploymentContainer('grafana') as ReturnType<typeof deploymentContainer> & { env: Array<{ name: string; value?: string }> }).env.map((e) => [e.name, e.value]),
    );
    expect(Object.fromEntries([...env].filter(([k]) => k.startsWith('GF_AUTH') || k.startsWith('GF_SECURITY')))).toEqual({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      GF_AUTH_DISABLE_LOGIN_FORM: 'true',
      GF_AUTH_BASIC_ENABLED: 'false',
      GF_SECURITY_DISABLE_INITIAL_ADMIN_CREATION: 'true',
    });
    expect(readText('grafana/k8s.yaml')).not.toMatch(/ADMIN_PASSWORD|kind: Secret/);
  });
});

// ------------------------------------------------------------------ against the running services

describe('dashboard queries against the running services', () => {
  let services: RunningServices | undefined;
  let prometheus: RunningTool | undefined;
  let exposed = new Set<string>();
  let openMetrics = '';

  beforeAll(async () => {
    services = await startServices();
    const pod = (name: 'frontend' | 'business-logic', metricsUrl: string) =>
      podTarget({ address: new URL(metricsUrl).host, namespace: 'meshloop', name: `${name}-0`, labels: { app: name, version: 'v1' }, container: name, portName: 'http-metrics' });
    prometheus = await startPrometheus(
      derivePrometheusConfig({
        scrapeInterval: '1s',
        dropJobsWithoutTargets: true,
        targets: { 'meshloop-services': [pod('frontend', services.frontendMetricsUrl), pod('business-logic', services.businessLogicMetricsUrl)] },
      }).yaml,
    );
    // Traffic in two rounds (a series needs a sample before the increase that rate() sees),
    // with failures so the 5xx error-rate query has data too.
    const traffic = async () => {
      for (let i = 0; i < 3; i++) {
        await fetch(`${services!.frontendUrl}/api/slow?delayMs=20`);
        await fetch(`${services!.frontendUrl}/api/fast`);
        await fetch(`${services!.frontendUrl}/api/fast`, { headers: { 'x-fail-rate': '1' } });
      }
    };
    await traffic();
    await waitFor('the first scrape of both services', async () =>
      (await promQuery(prometheus!.url, 'http_server_request_duration_seconds_count')).length >= 6 ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await traffic();
    const [frontend, businessLogic] = await Promise.all(
      [services.frontendMetricsUrl, services.businessLogicMetricsUrl].map(async (url) => (await fetch(url, { headers: { accept: 'application/openmetrics-text' } })).text()),
    );
    openMetrics = frontend ?? '';
    exposed = new Set([...exposedMetricNames(frontend ?? ''), ...exposedMetricNames(businessLogic ?? '')]);
  }, 180_000);

  afterAll(async () => {
    await services?.stop();
    await stopAllServices();
    await prometheus?.stop();
  });

  it('every metric a dashboard queries is one the services expose on /metrics or an Istio standard metric', () => {
    expect(exposed).toContain('http_server_request_duration_seconds_bucket');
    for (const { file, json } of dashboards) {
      const queries = [
        ...targetsOf(json).map(({ target }) => target.expr ?? ''),
        ...json.templating.list.map((v) => (typeof v.query === 'string' ? v.query : v.query?.query ?? '')).filter((q) => q.includes('(')),
      ];
      for (const query of queries) {
        const metrics = promqlMetricNames(query);
        expect(metrics.length, `${file}: ${query}`).toBeGreaterThan(0);
        for (const metric of metrics) expect(exposed.has(metric) || istioMetricNames.has(metric), `${file}: ${metric}`).toBe(true);
      }
    }
  });

  it('the exemplars the services emit carry the label the Prometheus datasource links to Jaeger', () => {
    const labels = [...openMetrics.matchAll(/ # \{([a-zA-Z_]\w*)="/g)].map((m) => m[1]);
    expect(labels.length).toBeGreaterThan(0);
    const destination = datasource('prometheus').jsonData?.exemplarTraceIdDestinations?.[0]?.name;
    expect(new Set(labels)).toEqual(new Set([destination]));
  });

  it('every query of the service RED dashboard returns data from a real Prometheus scraping the services', async () => {
    const red = dashboard('meshloop-red');
    const resolve = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replace(/\$(service|route)\b/g, '.*');
    const queries = [
      ...targetsOf(red).map(({ panel, target }) => ({ what: `${panel.title} ${target.refId}`, expr: resolve(target.expr ?? '') })),
      // Variable queries: label_values(<selector>, <label>) as a series query.
      ...red.templating.list.map((v) => {
        const text = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
        const [, selector = '', label = ''] = /^label_values\((.*),\s*(\w+)\)$/.exec(text) ?? [];
        return { what: `variable ${v.name}`, expr: `count by (${label}) (${resolve(selector)})` };
      }),
    ];
    for (const { what, expr } of queries) {
      const result = await waitFor(`${what}: ${expr}`, async () => {
        const series = await promQuery(prometheus!.url, expr);
        const numbers = series.filter((s) => !Number.isNaN(Number(s.value[1])));
        return numbers.length > 0 ? numbers : undefined;
      }, 20_000, 500);
      expect(result.length, what).toBeGreaterThan(0);
    }
  });
});
