/**
 * `npm run bench [-- --quick] [-- --out FILE]`: inner-loop and footprint
 * benchmarks in ONE run, variants interleaved so machine drift cancels.
 * Writes the table into BENCHMARKS.md (or FILE) between its result markers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stopAllServices } from '../../test/support/services';
import { summarizeLatencies } from '../traffic/stats';
import { containerRows } from './container';
import { clusterFootprint, FOOTPRINT_BUDGET, profileFootprint, readProfiles } from './footprint';
import { productionDependencyKiB } from './image-weight';
import { measureEdit, startVariant, type EditStyle, type RunningVariant, type StartContext } from './measure-serving';
import { budgetRow, machineDescription, ms, renderTable, spliceResults, times, type Row } from './report';
import { testsInTheLoopRows } from './tests-in-the-loop';
import { measureThroughput } from './throughput';
import { BASELINE, prepareWorkCopy, repoRoot, variants, type Variant } from './variants';

export interface BenchOptions {
  quick: boolean;
  log?: (line: string) => void;
}

/** Every style an edit reaches a service in (editors, and Tilt's live update); rounds cycle through them. */
const EDIT_STYLES: EditStyle[] = ['rename', 'in-place', 'tar'];

/** Rotates the order each round, so no variant always goes first or last. */
function rotated<T>(items: T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Accepts every span and log export (the "local sink" the services export to). */
async function startTelemetrySink(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.url?.startsWith('/api/v2/spans') ? 202 : 200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

export async function runBench({ quick, log = () => undefined }: BenchOptions): Promise<Row[]> {
  const config = quick
    ? { coldStarts: 1, editRounds: 3, throughputRounds: 1, throughputSeconds: 2 }
    : { coldStarts: 9, editRounds: 18, throughputRounds: 3, throughputSeconds: 8 };
  const all = variants(quick);
  const dirs = new Map<Variant, string>(all.map((v, i) => [v, prepareWorkCopy(v, i)]));
  const sink = await startTelemetrySink();
  const context: StartContext = {
    env: { OTEL_EXPORTER_ZIPKIN_ENDPOINT: `${sink.url}/api/v2/spans`, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${sink.url}/v1/logs` },
    businessLogicUrl: undefined,
  };
  const cold = new Map<Variant, number[]>(all.map((v) => [v, []]));
  const rss = new Map<Variant, number[]>(all.map((v) => [v, []]));
  const edits = new Map<Variant, Record<EditStyle, number[]>>(all.map((v) => [v, { rename: [], 'in-place': [], tar: [] }]));
  const throughput = new Map<string, { rps: number[]; p99: number[] }>();
  try {
    // An upstream business-logic for the frontend variant (never edited).
    const upstreamVariant = all.find((v) => v.name === 'business-logic')!;
    const upstream = await startVariant(upstreamVariant, prepareWorkCopy(upstreamVariant, 99), context);
    context.businessLogicUrl = upstream.running.process.url;

    for (let round = 0; round < config.coldStarts; round += 1) {
      for (const variant of rotated(all, round)) {
        const started = await startVariant(variant, dirs.get(variant)!, context);
        cold.get(variant)!.push(started.coldStartMs);
        rss.get(variant)!.push(started.rssKiB);
        await started.running.process.stop();
        log(`cold start ${variant.name}: ${Math.round(started.coldStartMs)} ms`);
      }
    }

    const running: RunningVariant[] = [];
    for (const variant of all) running.push((await startVariant(variant, dirs.get(variant)!, context)).running);
    for (let round = 0; round < config.editRounds; round += 1) {
      const style = EDIT_STYLES[round % EDIT_STYLES.length]!;
      for (const target of rotated(running, round)) {
        const elapsed = await measureEdit(target, style);
        edits.get(target.variant)![style].push(elapsed);
        log(`edit ${style} ${target.variant.name}: ${Math.round(elapsed)} ms`);
      }
    }

    const loadTargets = running.filter((r) => r.variant.name === BASELINE || r.variant.name === 'business-logic');
    for (let round = 0; round < config.throughputRounds; round += 1) {
      for (const target of rotated(loadTargets, round)) {
        const result = await measureThroughput(`${target.process.url}${target.variant.probePath}`, config.throughputSeconds);
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`${target.variant.name}: ${result.errors} errors, ${result.non2xx} non-2xx under load`);
        const entry = throughput.get(target.variant.name) ?? { rps: [], p99: [] };
        entry.rps.push(result.requestsPerSecond);
        entry.p99.push(result.p99Ms);
        throughput.set(target.variant.name, entry);
        log(`throughput ${target.variant.name}: ${Math.round(result.requestsPerSecond)} req/s`);
      }
    }
  } finally {
    await stopAllServices();
    sink.close();
  }

  const rows: Row[] = [];
  const baseline = all.find((v) => v.name === BASELINE)!;
  const median = (values: number[]) => summarizeLatencies(values)!.p50;
  const editSamples = (v: Variant) => EDIT_STYLES.flatMap((style) => edits.get(v)![style]);
  const baseEdit = median(editSamples(baseline));
  const baseCold = median(cold.get(baseline)!);
  for (const variant of all) {
    const samples = summarizeLatencies(editSamples(variant))!;
    rows.push({ figure: `Edit → served, ${variant.name} (median / p95 of ${samples.count}; rename ${ms(median(edits.get(variant)!.rename))}, in place ${ms(median(edits.get(variant)!['in-place']))}, Tilt's tar sync ${ms(median(edits.get(variant)!.tar))})`, value: `${ms(samples.p50)} / ${ms(samples.p95)}` });
  }
  for (const variant of all.filter((v) => v.name !== BASELINE)) {
    const figure = `Edit → served ratio, ${variant.name} / ${BASELINE} (medians)`;
    const value = median(editSamples(variant)) / baseEdit;
    rows.push(variant.budgeted ? budgetRow(figure, value, { max: 1.3 }, times) : { figure, value: times(value) });
  }
  for (const variant of all) {
    rows.push({ figure: `Cold start to first 200, ${variant.name} (median of ${cold.get(variant)!.length})`, value: ms(median(cold.get(variant)!)) });
    rows.push({ figure: `RSS after start, ${variant.name}`, value: `${(median(rss.get(variant)!) / 1024).toFixed(0)} MiB` });
  }
  for (const variant of all.filter((v) => v.name !== BASELINE)) {
    const figure = `Cold start ratio, ${variant.name} / ${BASELINE} (medians)`;
    const value = median(cold.get(variant)!) / baseCold;
    rows.push(variant.budgeted ? budgetRow(figure, value, { max: 1.5 }, times) : { figure, value: times(value) });
  }
  const bare = throughput.get(BASELINE)!;
  const service = throughput.get('business-logic')!;
  for (const [name, entry] of [[BASELINE, bare], ['business-logic (full telemetry, 100% sampled, exported)', service]] as const) {
    rows.push({ figure: `Throughput, ${name} GET /fast (10 connections, median of ${entry.rps.length})`, value: `${Math.round(median(entry.rps))} req/s, p99 ${ms(median(entry.p99))}` });
  }
  rows.push(budgetRow('Throughput ratio, business-logic / bare-express', median(service.rps) / median(bare.rps), { min: 0.5 }, times));

  const cpu = (n: number) => `${(n / 1000).toFixed(2)} CPU`;
  const gib = (n: number) => `${(n / 1024).toFixed(2)} GiB`;
  const fullFootprint = clusterFootprint();
  for (const [name, profile] of Object.entries(readProfiles())) {
    const footprint = profileFootprint(profile, fullFootprint);
    const of = `profile ${name}`;
    rows.push(budgetRow(`Cluster CPU requests, ${of} (sidecars included)`, footprint.total.cpuRequest, { max: name === 'full' ? FOOTPRINT_BUDGET.cpuRequest : fullFootprint.total.cpuRequest / 2 }, cpu));
    rows.push(budgetRow(`Cluster memory requests, ${of}`, footprint.total.memoryRequest, { max: name === 'full' ? FOOTPRINT_BUDGET.memoryRequest : fullFootprint.total.memoryRequest / 2 }, gib));
    rows.push(budgetRow(`Cluster memory limits, ${of}`, footprint.total.memoryLimit, { max: FOOTPRINT_BUDGET.memoryLimit }, gib));
    rows.push({ figure: `Cluster CPU limits, ${of}`, value: cpu(footprint.total.cpuLimit) });
  }
  for (const service of ['business-logic', 'frontend']) {
    rows.push({ figure: `Production dependencies of ${service} (npm ci --omit=dev, du)`, value: `${(productionDependencyKiB(service) / 1024).toFixed(1)} MiB` });
  }
  // The services as containers on the real Docker engine (scripts/bench/container.ts).
  rows.push(...(await containerRows({ quick, log })));
  // Save → unit-test result in Tilt's local mode (scripts/bench/tests-in-the-loop.ts).
  rows.push(...(await testsInTheLoopRows({ quick, log })));
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const rows = await runBench({ quick: values.quick ?? false, log: (line) => process.stderr.write(`${line}\n`) });
  const table = renderTable(rows, new Date(), machineDescription());
  const out = values.out ?? path.join(repoRoot, 'BENCHMARKS.md');
  let document: string;
  try {
    document = readFileSync(out, 'utf8');
  } catch {
    document = `# Benchmarks\n\n<!-- bench:results:start -->\n<!-- bench:results:end -->\n`;
  }
  writeFileSync(out, spliceResults(document, table));
  process.stdout.write(`${table}\n\nwritten to ${out}\n`);
  if (rows.some((row) => row.pass === false)) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
