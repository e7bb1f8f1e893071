// The mesh services as the repository declares them: every npm workspace of the
// root package.json whose own package.json has a "meshloop" block
// (docs/service-contract.md). The Tiltfile's read_services() reads the same data.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface MeshloopBlock {
  port: number;
  metricsPort: number;
  debugPort: number;
  calls: string[];
}

export interface MeshService extends MeshloopBlock {
  name: string;
  /** Workspace folder relative to the root, e.g. services/frontend. */
  folder: string;
}

export interface PackageJson {
  name?: string;
  workspaces?: string[];
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
  meshloop?: Partial<MeshloopBlock>;
  [field: string]: unknown;
}

export function readJson<T = PackageJson>(root: string, file: string): T {
  return JSON.parse(readFileSync(path.join(root, file), 'utf8')) as T;
}

/** npm's own formatting (2 spaces, trailing newline): what the generator writes back. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function workspaceFolders(root: string): string[] {
  return readJson(root, 'package.json').workspaces ?? [];
}

export function readMeshServices(root: string): MeshService[] {
  const services: MeshService[] = [];
  for (const folder of workspaceFolders(root)) {
    const file = path.join(folder, 'package.json');
    if (!existsSync(path.join(root, file))) continue;
    const meta = readJson(root, file).meshloop;
    if (!meta) continue;
    const { port, metricsPort, debugPort } = meta;
    if (typeof port !== 'number' || typeof metricsPort !== 'number' || typeof debugPort !== 'number') {
      throw new Error(`${file}: the "meshloop" block needs numeric port, metricsPort and debugPort`);
    }
    services.push({ name: path.basename(folder), folder, port, metricsPort, debugPort, calls: meta.calls ?? [] });
  }
  return services;
}

/** `business-logic` -> `BUSINESS_LOGIC_URL`: how a caller is told where a callee is. */
export function urlVariable(service: string): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_URL`;
}

/** In-cluster base URL of a service (the convention of k8s/frontend.yaml). */
export function clusterUrl(service: MeshService): string {
  return `http://${service.name}.meshloop.svc.cluster.local:${service.port}`;
}
