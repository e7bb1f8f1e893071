// services/Dockerfile parsed with dockerfile-ast and checked against what Tilt
// and the cluster rely on: fast rules that need no engine. The container tier
// (test/container) builds and runs the images for real.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  argScopeProblems,
  baseImage,
  baseImageHasTar,
  contextSources,
  copyTarget,
  effectiveEnv,
  effectiveUser,
  effectiveWorkdir,
  execForm,
  findStage,
  installsPackage,
  installsWorkspaceRoot,
  isIgnored,
  isRootUser,
  liveUpdateSyncs,
  nonRootOwnedUnder,
  parseStages,
  readDockerignore,
  readStages,
  type Stage,
} from './support/dockerfile';
import { repoRoot } from './support/tools';
import { serviceNames } from './support/workspaces';

// Every mesh service of the workspaces (a generated one too, in the generator's end-to-end test).
const services = serviceNames();
/** The inspector port of the dev target (the Tiltfile's port_forwards point at it). */
const POD_DEBUG_PORT = 9229;
const stages = readStages();
const ignore = readDockerignore();

function stage(name: string): Stage {
  const found = findStage(stages, name);
  if (!found) throw new Error(`services/Dockerfile has no stage ${name}`);
  return found;
}

function packageScript(service: string, script: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'services', service, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const command = pkg.scripts?.[script];
  if (!command) throw new Error(`services/${service}/package.json has no ${script} script`);
  // The inspector port is each service's local debugPort on a laptop
  // (`${DEBUG_PORT:-9230}`); a pod has a loopback of its own, so the image uses 9229.
  return command.trim().replace(/\$\{DEBUG_PORT:-\d+\}/g, String(POD_DEBUG_PORT)).split(/\s+/);
}

/** The init process is tini, running the real command as its child (signals forwarded). */
function runsUnderTini(s: Stage): boolean {
  const entrypoint = execForm(s, 'ENTRYPOINT') ?? [];
  return path.posix.basename(entrypoint[0] ?? '') === 'tini' && installsPackage(s, 'tini');
}

function hasTar(s: Stage): boolean {
  return baseImageHasTar(baseImage(s)) || installsPackage(s, 'tar');
}

describe('services/Dockerfile', () => {
  test('defines the dev target Tilt builds and the prod target as the final stage', () => {
    expect(stages.map((s) => s.name)).toContain('dev');
    expect(stages.at(-1)?.name).toBe('prod');
  });

  test('every stage that uses ${SERVICE} declares ARG SERVICE itself (build args do not cross FROM)', () => {
    expect(argScopeProblems(stages, ['SERVICE'])).toEqual([]);
    const forgotten = parseStages('FROM node:22-bookworm-slim AS a\nARG SERVICE\nFROM a AS b\nWORKDIR /app/services/${SERVICE}\n');
    expect(argScopeProblems(forgotten, ['SERVICE'])).toEqual(['stage b uses ${SERVICE} without its own ARG SERVICE']);
  });

  test.each(['dev', 'prod'])('the %s target runs as a non-root user', (name) => {
    expect(isRootUser(effectiveUser(stage(name)))).toBe(false);
    expect(effectiveUser(parseStages('FROM node:22-bookworm-slim AS x\nRUN true\n')[0]!)).toBe('root');
    expect(isRootUser('0:0')).toBe(true);
  });

  test.each(['dev', 'prod'])('the %s target starts under tini, installed in the image', (name) => {
    expect(runsUnderTini(stage(name))).toBe(true);
    const bare = parseStages('FROM node:22-bookworm-slim AS x\nCMD ["node", "server.js"]\n')[0]!;
    expect(runsUnderTini(bare)).toBe(false);
  });

  test('the dev target has tar, which Tilt live update copies files with', () => {
    expect(hasTar(stage('dev'))).toBe(true);
    const distroless = parseStages('FROM gcr.io/distroless/nodejs22-debian12 AS x\nCMD ["server.js"]\n')[0]!;
    expect(hasTar(distroless)).toBe(false);
  });

  test.each(services)('the dev image of %s keeps each live-update sync target where Tilt writes it, owned by its user', (service) => {
    const dev = stage('dev');
    const user = effectiveUser(dev);
    for (const { local, remote } of liveUpdateSyncs(service)) {
      const target = copyTarget(dev, local, { SERVICE: service });
      expect(target?.remote, local).toBe(remote);
      expect(target?.chown?.split(':')[0], `${local} owned by ${user}`).toBe(user);
      expect(existsSync(path.join(repoRoot, local)), `${local} exists`).toBe(true);
      // Tilt does not watch what .dockerignore excludes: a synced folder must stay in.
      expect(isIgnored(ignore, `${local}/server.ts`), `${local} in the build context`).toBe(false);
    }
    const elsewhere = parseStages('FROM node:22-bookworm-slim AS dev\nUSER node\nWORKDIR /srv\nCOPY services/ ./\n')[0]!;
    expect(copyTarget(elsewhere, `services/${service}/src`, { SERVICE: service })).toEqual({
      remote: `/srv/${service}/src`,
      chown: undefined,
      fromStage: undefined,
    });
  });

  test.each(services)('the dev target of %s runs its package.json dev script directly (no npm/sh to swallow SIGTERM)', (service) => {
    const dev = stage('dev');
    expect(effectiveWorkdir(dev, { SERVICE: service })).toBe(`/app/services/${service}`);
    expect(execForm(dev, 'CMD')).toEqual(packageScript(service, 'dev'));
    expect(effectiveEnv(dev, 'NODE_ENV')).toBe('development');
  });

  test.each(services)('the prod target of %s runs the compiled entry with the telemetry preload', (service) => {
    const prod = stage('prod');
    expect(effectiveWorkdir(prod, { SERVICE: service })).toBe(`/app/services/${service}`);
    expect(execForm(prod, 'CMD')).toEqual(packageScript(service, 'start'));
    expect(effectiveEnv(prod, 'NODE_ENV')).toBe('production');
  });

  test.each(services)('in the prod target of %s nothing under /app, not even /app itself, is owned by the app user', (service) => {
    expect(nonRootOwnedUnder(stage('prod'), '/app', { SERVICE: service })).toEqual([]);
    // The earlier layout: prod built on the dev base, whose /app belongs to node.
    const inherited = parseStages(
      'FROM node:22-bookworm-slim AS base\nRUN mkdir -p /app/services && chown -R node:node /app\nWORKDIR /app\nUSER node\n' +
        'FROM base AS prod\nCOPY --from=x --chown=root:root /app/ /app/\nWORKDIR /app/services/x\n',
    );
    expect(nonRootOwnedUnder(findStage(inherited, 'prod')!, '/app')).toEqual([
      'RUN mkdir -p /app/services && chown -R node:node /app',
      'WORKDIR /app/services/x (created as node)',
    ]);
  });

  test('the dev target installs only the shared runtime and the service (tsx from its devDependencies), not the root devDependencies', () => {
    expect(installsWorkspaceRoot(stage('dev'))).toEqual([]);
    const [command] = execForm(stage('dev'), 'CMD') ?? [];
    for (const service of services) {
      const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'services', service, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
      expect(Object.keys(pkg.devDependencies ?? {}), `services/${service} devDependencies`).toContain(command);
    }
    const everything = parseStages('FROM node:22-bookworm-slim AS dev\nRUN npm ci --include-workspace-root --workspace=services/x\n')[0]!;
    expect(installsWorkspaceRoot(everything)).toHaveLength(1);
  });

  test.each(services)('every file the Dockerfile copies for %s exists and is in the build context', (service) => {
    const sources = contextSources(stages, { SERVICE: service });
    expect(sources).toContain(`services/${service}`);
    for (const source of sources) {
      expect(existsSync(path.join(repoRoot, source)), `${source} exists`).toBe(true);
      expect(isIgnored(ignore, source), `${source} not excluded by .dockerignore`).toBe(false);
    }
  });
});

describe('.dockerignore', () => {
  test.each([
    'node_modules/tsx/package.json',
    'services/frontend/node_modules/.bin/tsx',
    'services/service-runtime/dist/index.js',
    'services/frontend/tsconfig.tsbuildinfo',
    'services/business-logic/test/app.test.ts',
    '.git/HEAD',
    '.cache/bin/tilt',
    'tools/tilt/go.mod',
    'test/manifests.test.ts',
    'k8s/frontend.yaml',
    'Tiltfile',
  ])('keeps %s out of the build context', (file) => {
    expect(isIgnored(ignore, file)).toBe(true);
  });

  test.each(['package.json', 'package-lock.json', 'tsconfig.json', 'services/frontend/src/server.ts', 'services/service-runtime/src/index.ts'])(
    'sends %s to the build',
    (file) => {
      expect(isIgnored(ignore, file)).toBe(false);
    },
  );
});
