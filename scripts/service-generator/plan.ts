// What `new-service` writes, as a list of file changes computed before anything is
// touched: the dry run prints it, apply() writes it, tests inspect it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EXAMPLE_PATH, renderApp, renderAppTest, renderConfig, renderConfigTest, renderDownstreamClient, renderServer, type Callee } from './render-code';
import { renderMesh, renderWorkload, urlEnvLines } from './render-manifests';
import { pickPorts, type NewServiceRequest } from './validate';
import { clusterUrl, formatJson, readJson, urlVariable, type MeshService, type PackageJson } from './workspace';

export type FileChange =
  | { action: 'create'; path: string; content: string }
  | { action: 'edit'; path: string; before: string; after: string; summary: string }
  | { action: 'delete'; path: string };

export interface Plan {
  name: string;
  ports: { port: number; metricsPort: number; debugPort: number };
  changes: FileChange[];
}

/** The service whose package.json scripts and devDependencies a new service copies. */
export const TEMPLATE_SERVICE = 'frontend';

const read = (root: string, file: string) => readFileSync(path.join(root, file), 'utf8');

/** A JSON edit that keeps npm's formatting; refused when the file is not in that formatting (it would not undo byte for byte). */
export function editJson(root: string, file: string, summary: string, change: (value: PackageJson) => void): FileChange {
  const before = read(root, file);
  const value = JSON.parse(before) as PackageJson;
  if (formatJson(value) !== before) throw new Error(`${file} is not formatted the way npm writes it (2 spaces, final newline); format it first`);
  change(value);
  return { action: 'edit', path: file, before, after: formatJson(value), summary };
}

const SERVICE_NAME_ENV = /^( *)- name: OTEL_SERVICE_NAME\n/m;

/** Adds the callee's URL env lines (urlEnvLines) before OTEL_SERVICE_NAME in the caller's manifest. */
export function addCalleeUrl(root: string, caller: string, callee: MeshService): FileChange {
  const file = `k8s/${caller}.yaml`;
  const before = read(root, file);
  const anchor = SERVICE_NAME_ENV.exec(before);
  if (!anchor) throw new Error(`${file}: no "- name: OTEL_SERVICE_NAME" env entry to place ${urlVariable(callee.name)} before`);
  const after = before.slice(0, anchor.index) + urlEnvLines(callee, anchor[1]!) + before.slice(anchor.index);
  return { action: 'edit', path: file, before, after, summary: `${caller}'s container gets ${urlVariable(callee.name)}=${clusterUrl(callee)}` };
}

/** The path the example route calls at a callee: its first GET route (a generated one has EXAMPLE_PATH). */
export function examplePathOf(root: string, callee: MeshService): string {
  const app = path.join(root, callee.folder, 'src', 'app.ts');
  const match = existsSync(app) ? /\bapp\.get\(\s*'([^']+)'/.exec(readFileSync(app, 'utf8')) : null;
  return match?.[1] ?? EXAMPLE_PATH;
}

/**
 * The template's scripts for the new service: a port number of the template's "meshloop"
 * block in a script (e.g. an inspector default `${DEBUG_PORT:-9229}`) becomes the new
 * service's, so two services started by hand never collide.
 */
export function retargetScripts(
  scripts: Record<string, string>,
  from: Partial<Record<'port' | 'metricsPort' | 'debugPort', number>>,
  to: Record<'port' | 'metricsPort' | 'debugPort', number>,
): Record<string, string> {
  const swaps = (['port', 'metricsPort', 'debugPort'] as const).flatMap((key) => (from[key] === undefined ? [] : [[String(from[key]), String(to[key])] as const]));
  const retarget = (script: string) => script.replace(/\b\d{2,5}\b/g, (token) => swaps.find(([old]) => old === token)?.[1] ?? token);
  return Object.fromEntries(Object.entries(scripts).map(([name, script]) => [name, retarget(script)]));
}

export function buildPlan(root: string, request: NewServiceRequest, services: MeshService[]): Plan {
  const { name } = request;
  const byName = (n: string) => services.find((s) => s.name === n)!;
  const ports = pickPorts(request, services);
  const calls = request.calls.map(byName);
  const calledBy = request.calledBy.map(byName);
  const folder = `services/${name}`;
  const template = readJson(root, `services/${TEMPLATE_SERVICE}/package.json`);
  const newService: MeshService = { name, folder, ...ports, calls: request.calls };

  const pkg: PackageJson = {
    name: `@meshloop/${name}`,
    version: '0.1.0',
    private: true,
    main: './dist/server.js',
    // The template service's scripts (dev, start, and whatever later changes add), except
    // its build, which also copies the frontend's landing page.
    // A path into the template's folder (e.g. its unit tests: `vitest run … services/frontend/test`)
    // becomes the new service's.
    scripts: {
      ...Object.fromEntries(
        Object.entries(retargetScripts(template.scripts ?? {}, template.meshloop ?? {}, ports)).map(([k, v]) => [k, v.replaceAll(`services/${TEMPLATE_SERVICE}/`, `${folder}/`)]),
      ),
      build: 'tsc -b',
    },
    devDependencies: { ...template.devDependencies },
    meshloop: { ...ports, calls: request.calls },
  };
  const tsconfig = read(root, `services/${TEMPLATE_SERVICE}/tsconfig.json`);
  const callees: Callee[] = calls.map((service) => ({ service, examplePath: examplePathOf(root, service) }));
  const spec = { name, port: ports.port, metricsPort: ports.metricsPort, callees };

  const changes: FileChange[] = [
    { action: 'create', path: `${folder}/package.json`, content: formatJson(pkg) },
    { action: 'create', path: `${folder}/tsconfig.json`, content: tsconfig },
    { action: 'create', path: `${folder}/src/server.ts`, content: renderServer() },
    { action: 'create', path: `${folder}/src/config.ts`, content: renderConfig(spec) },
    { action: 'create', path: `${folder}/src/app.ts`, content: renderApp(spec) },
    ...(callees.length > 0 ? [{ action: 'create' as const, path: `${folder}/src/downstream-client.ts`, content: renderDownstreamClient() }] : []),
    { action: 'create', path: `${folder}/test/app.test.ts`, content: renderAppTest(spec) },
    { action: 'create', path: `${folder}/test/config.test.ts`, content: renderConfigTest(spec) },
    { action: 'create', path: `k8s/${name}.yaml`, content: renderWorkload({ name, ...ports, calls, calledBy }) },
    { action: 'create', path: `istio/mesh/${name}.yaml`, content: renderMesh({ name, ...ports, calls, calledBy }) },
    editJson(root, 'package.json', `workspace ${folder} added`, (root) => {
      root.workspaces = [...(root.workspaces ?? []), folder];
    }),
  ];
  for (const caller of calledBy) {
    changes.push(
      editJson(root, `${caller.folder}/package.json`, `${caller.name} calls ${name} (its "meshloop" calls)`, (p) => {
        p.meshloop = { ...p.meshloop, calls: [...(p.meshloop?.calls ?? []), name] };
      }),
      addCalleeUrl(root, caller.name, newService),
    );
  }
  return { name, ports, changes };
}
