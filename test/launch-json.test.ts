// .vscode/launch.json against the facts it depends on: each service's local
// debug port (package.json "meshloop" block, which the Tiltfile forwards or
// passes as DEBUG_PORT) and where the dev image keeps the sources (its WORKDIR),
// so that a breakpoint in services/<svc>/src binds in the pod.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { effectiveWorkdir, findStage, readStages } from './support/dockerfile';
import { attachConfig, readLaunchJson, remotePath, type DebugMode } from './support/launch-json';
import { repoRoot } from './support/tools';

const launch = readLaunchJson();
const workspaces = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
const services = workspaces
  .map((folder) => ({ folder, meta: (JSON.parse(readFileSync(path.join(repoRoot, folder, 'package.json'), 'utf8')) as { meshloop?: { debugPort: number } }).meshloop }))
  .filter((w): w is { folder: string; meta: { debugPort: number } } => w.meta !== undefined)
  .map((w) => ({ name: path.basename(w.folder), debugPort: w.meta.debugPort }));
const modes: DebugMode[] = ['cluster', 'local'];

describe('.vscode/launch.json', () => {
  it('has the services of the package.json "meshloop" blocks', () => {
    expect(services.map((s) => s.name).sort()).toEqual(['business-logic', 'frontend']);
  });

  it.each(services.flatMap((s) => modes.map((mode) => [s.name, mode, s.debugPort] as const)))(
    'attaches to %s (%s) on localhost:<its debugPort>, re-attaching after every restart, with source maps',
    (name, mode, debugPort) => {
      const config = attachConfig(launch, name, mode);
      expect(config).toMatchObject({ type: 'node', request: 'attach', address: 'localhost', port: debugPort, restart: true, sourceMaps: true });
    },
  );

  it.each(services.map((s) => s.name))('maps %s in the cluster: the pod\'s sources are the workspace\'s, under the dev image\'s WORKDIR', (name) => {
    const dev = findStage(readStages(), 'dev');
    const cluster = attachConfig(launch, name, 'cluster');
    expect(remotePath(cluster, `services/${name}/src/app.ts`)).toBe(`${effectiveWorkdir(dev!, { SERVICE: name })}/src/app.ts`);
    expect(remotePath(cluster, 'services/service-runtime/src/index.ts')).toBe('/app/services/service-runtime/src/index.ts');
  });

  it.each(services.map((s) => s.name))('maps %s in local mode to the workspace itself (the dev process runs there)', (name) => {
    const local = attachConfig(launch, name, 'local');
    expect(local.remoteRoot).toBeUndefined();
    expect(remotePath(local, `services/${name}/src/app.ts`)).toBe(path.join(repoRoot, 'services', name, 'src/app.ts'));
  });

  it.each(modes)('has a compound attaching to every service (%s)', (mode) => {
    const compound = launch.compounds.find((c) => c.name === `Attach: all services (${mode})`);
    expect(compound?.configurations.sort()).toEqual(services.map((s) => `Attach: ${s.name} (${mode})`).sort());
  });
});
