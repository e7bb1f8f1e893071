/**
 * Container section of the benchmarks, on the container tier's real Docker
 * engine (test/support/docker.ts): in-container edit -> served through
 * Tilt's tar sync (business-logic's dev image against a bare express app in
 * the same base image), image build times cold and warm, image sizes.
 * Part of `npm run bench`; alone: `tsx scripts/bench/container.ts [--quick]`
 * prints the rows.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildServiceImage,
  docker,
  ensureBaseImages,
  fetchWithin,
  runContainer,
  tarSync,
  testLabel,
  removeLabelled,
  type Container,
} from '../../test/support/docker';
import { summarizeLatencies } from '../traffic/stats';
import { budgetRow, ms, renderTable, machineDescription, times, type Row } from './report';
import { repoRoot } from './variants';

const label = testLabel('bench-container');
const BARE_IMAGE = 'meshloop-bench/bare-express:dev';

interface EditTarget {
  name: string;
  container: Container;
  port: number;
  /** Synced path (relative to /) and its original content. */
  file: string;
  source: string;
  from: string;
}

function lockedVersion(pkg: string): string {
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const version = lock.packages[`node_modules/${pkg}`]?.version;
  if (!version) throw new Error(`package-lock.json has no ${pkg}`);
  return version;
}

/**
 * The baseline: the bench's bare express fixture (scripts/bench/fixtures/bare-express)
 * on the same node:22-bookworm-slim with tini, express and tsx at the
 * versions the services lock, started by its own dev script like the services.
 */
function buildBareImage(): void {
  const fixture = path.join(repoRoot, 'scripts/bench/fixtures/bare-express');
  const devScript = (JSON.parse(readFileSync(path.join(fixture, 'package.json'), 'utf8')) as { scripts: { dev: string } }).scripts.dev;
  const context = mkdtempSync(path.join(os.tmpdir(), 'meshloop-bare-'));
  try {
    cpSync(fixture, path.join(context, 'bare-express'), { recursive: true });
    writeFileSync(
      path.join(context, 'Dockerfile'),
      [
        'FROM node:22-bookworm-slim',
        'RUN apt-get update && apt-get install -y --no-install-recommends tini tar && rm -rf /var/lib/apt/lists/*',
        'RUN mkdir -p /app/bare && chown -R node:node /app',
        'USER node',
        'WORKDIR /app/bare',
        'COPY --chown=node:node bare-express/ ./',
        `RUN npm install --no-save --no-audit --no-fund express@${lockedVersion('express')} tsx@${lockedVersion('tsx')}`,
        // Same live-update settings as the services' dev image (services/Dockerfile: TAR_OPTIONS).
        'ENV NODE_ENV=development NODE_COMPILE_CACHE=/tmp/node-compile-cache TAR_OPTIONS=--touch PATH=/app/bare/node_modules/.bin:$PATH',
        'ENTRYPOINT ["tini", "--"]',
        `CMD ${JSON.stringify(devScript.split(/\s+/))}`,
      ].join('\n'),
    );
    docker(['build', '-q', '-t', BARE_IMAGE, context], { timeoutMs: 15 * 60_000 });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

async function answer(target: EditTarget): Promise<string | undefined> {
  try {
    const response = await fetchWithin(`${target.container.url(target.port)}/fast`, 2000);
    return response.ok ? ((await response.json()) as { endpoint?: string }).endpoint : undefined;
  } catch {
    return undefined; // restarting
  }
}

/** One edit through Tilt's tar sync; ms from the sync until the new answer is served, or undefined if never (within 15 s). */
async function measureSync(target: EditTarget): Promise<number | undefined> {
  const marker = `fast-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  tarSync(target.container, { [target.file]: target.source.replace(target.from, `endpoint: '${marker}'`) });
  while (performance.now() - started < 15_000) {
    if ((await answer(target)) === marker) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return undefined;
}

async function startTarget(name: string, image: string, port: number, file: string, from: string): Promise<EditTarget> {
  const container = runContainer(image, { label, ports: [port], env: { PORT: String(port) } });
  const started = Date.now();
  while (Date.now() - started < 120_000) {
    const response = await fetchWithin(`${container.url(port)}/fast`, 2000).catch(() => undefined);
    if (response?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const source = docker(['exec', container.id, 'cat', `/${file}`]);
  if (!source.includes(from)) throw new Error(`${name}: /${file} does not contain ${from}`);
  return { name, container, port, file, source, from };
}

function imageBytes(tag: string): number {
  return Number(docker(['image', 'inspect', '--format', '{{.Size}}', tag]));
}

function nodeModulesMiB(tag: string): number {
  return Number(docker(['run', '--rm', '--entrypoint', 'du', tag, '-sm', '/app/node_modules']).split(/\s+/)[0]);
}

export async function containerRows({ quick, log = () => undefined }: { quick: boolean; log?: (line: string) => void }): Promise<Row[]> {
  ensureBaseImages();
  removeLabelled(label);
  const rows: Row[] = [];

  // Build times: business-logic, both targets. Cold = without Docker's layer
  // cache (the npm download cache mount stays, like a developer's second
  // machine-wide build); warm = the same build again, nothing changed.
  for (const target of ['dev', 'prod'] as const) {
    const tag = `meshloop-bench/business-logic:${target}`;
    let started = performance.now();
    // --quick skips the cold build (a minute or more); a first build still happens when the image is missing.
    buildServiceImage('business-logic', target, { tag, noCache: !quick });
    const cold = quick ? undefined : performance.now() - started;
    started = performance.now();
    buildServiceImage('business-logic', target, { tag });
    const warm = performance.now() - started;
    const seconds = (n: number) => `${(n / 1000).toFixed(1)} s`;
    log(`build business-logic ${target}: cold ${cold === undefined ? '-' : seconds(cold)}, warm ${seconds(warm)}`);
    rows.push({ figure: `Image build, business-logic ${target} (cold: no layer cache, npm cache mount kept / warm: unchanged)`, value: `${cold === undefined ? 'not measured (--quick)' : seconds(cold)} / ${seconds(warm)}` });
  }
  for (const service of ['business-logic', 'frontend'] as const) {
    for (const target of ['dev', 'prod'] as const) {
      const tag = buildServiceImage(service, target, { tag: `meshloop-bench/${service}:${target}` });
      rows.push({ figure: `Image size, ${service} ${target} (node_modules inside)`, value: `${Math.round(imageBytes(tag) / 1e6)} MB (${nodeModulesMiB(tag)} MiB)` });
    }
  }

  buildBareImage();
  const edits = quick ? 10 : 20;
  const targets = [
    await startTarget('bare-express', BARE_IMAGE, 8090, 'app/bare/src/server.ts', "endpoint: 'fast'"),
    await startTarget('business-logic', 'meshloop-bench/business-logic:dev', 8081, 'app/services/business-logic/src/app.ts', "endpoint: 'fast'"),
  ];
  const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const missed = new Map<string, number>(targets.map((t) => [t.name, 0]));
  try {
    for (let round = 0; round < edits; round += 1) {
      // Alternate which goes first, so drift of the machine hits both alike.
      for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
        const elapsed = await measureSync(target);
        if (elapsed === undefined) missed.set(target.name, missed.get(target.name)! + 1);
        else samples.get(target.name)!.push(elapsed);
        log(`container edit ${target.name}: ${elapsed === undefined ? 'MISSED' : `${Math.round(elapsed)} ms`}`);
        // Let the restarted process settle (its first request, compile cache) before the next edit.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
  } finally {
    for (const target of targets) target.container.remove();
  }
  for (const target of targets) {
    const stats = summarizeLatencies(samples.get(target.name)!);
    const figure = `In-container edit → served (Tilt's tar sync via docker exec), ${target.name}: median / p95 of ${stats?.count ?? 0}`;
    rows.push(
      target.name === 'business-logic' && stats
        ? { ...budgetRow(figure, stats.p50, { max: 2000 }, ms), value: `${ms(stats.p50)} / ${ms(stats.p95)}` }
        : { figure, value: stats ? `${ms(stats.p50)} / ${ms(stats.p95)}` : 'none served' },
    );
    rows.push(budgetRow(`In-container edits never served (15 s), ${target.name}, of ${edits}`, missed.get(target.name)!, { max: 0 }, String));
  }
  const bare = summarizeLatencies(samples.get('bare-express')!);
  const service = summarizeLatencies(samples.get('business-logic')!);
  if (bare && service) rows.push({ figure: 'In-container edit → served ratio, business-logic / bare-express (medians)', value: times(service.p50 / bare.p50) });
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const rows = await containerRows({ quick: values.quick ?? false, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${renderTable(rows, new Date(), machineDescription())}\n`);
  if (rows.some((row) => row.pass === false)) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`container bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
