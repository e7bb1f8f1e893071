// Jaeger and Prometheus beside local mode (`tilt up -- --local`), with the configs
// the tests use: derived from observability/, listening on localhost only.
//
//   npx tsx test/support/observability-local.ts [out-dir]
//
// writes jaeger.yaml and prometheus.yml (default .tilt-local/observability/) and
// prints the commands that start both and point local mode at them.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { derivePrometheusConfig, deriveJaegerConfig, podTarget, prometheusRuntimeFlags } from './observability';
import { repoRoot, toolPath } from './tools';

/** Local mode's default metrics ports (docs/service-contract.md). */
const metricsPorts = { frontend: 9464, 'business-logic': 9465 } as const;

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? path.join(repoRoot, '.tilt-local', 'observability'));
  mkdirSync(out, { recursive: true });

  // Same ports as in the cluster, bound to 127.0.0.1.
  const jaeger = await deriveJaegerConfig((port) => port);
  writeFileSync(path.join(out, 'jaeger.yaml'), jaeger.yaml);

  const prometheusBinary = toolPath('prometheus');
  const targets = Object.entries(metricsPorts).map(([app, port]) =>
    podTarget({ address: `127.0.0.1:${port}`, namespace: 'meshloop', name: `${app}-local`, labels: { app, version: 'v1' }, container: app, portName: 'http-metrics' }),
  );
  const prometheus = derivePrometheusConfig({
    targets: { 'meshloop-services': targets },
    dropJobsWithoutTargets: true,
    scrapeInterval: '5s',
  });
  writeFileSync(path.join(out, 'prometheus.yml'), prometheus.yaml);

  const lines = [
    `Wrote ${path.relative(process.cwd(), out)}/jaeger.yaml and prometheus.yml. Start, each in its own terminal:`,
    `  ${toolPath('jaeger')} --config ${path.join(out, 'jaeger.yaml')}`,
    `  ${prometheusBinary} --config.file=${path.join(out, 'prometheus.yml')} --storage.tsdb.path=${path.join(out, 'prometheus-data')} --web.listen-address=127.0.0.1:9090 ${prometheusRuntimeFlags().join(' ')}`,
    '  OTEL_EXPORTER_ZIPKIN_ENDPOINT=http://127.0.0.1:9411/api/v2/spans tilt up -- --local',
    'Jaeger: http://localhost:16686   Prometheus: http://localhost:9090',
  ];
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
