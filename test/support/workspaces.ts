// The mesh services of the checkout under test, from the npm workspaces (the same
// data the Tiltfile reads), so the checks cover whatever services exist, including
// one `npm run new-service` generated into a copy of the repository.
import { readMeshServices, urlVariable, type MeshService } from '../../scripts/service-generator/workspace';
import { repoRoot } from './tools';

export type { MeshService };

export function meshServices(): MeshService[] {
  return readMeshServices(repoRoot);
}

export function meshService(name: string): MeshService {
  const found = meshServices().find((s) => s.name === name);
  if (!found) throw new Error(`no mesh service ${name} in the workspaces`);
  return found;
}

export function serviceNames(): string[] {
  return meshServices().map((s) => s.name);
}

/** `<CALLEE>_URL` of every service: how a caller is told where a service it calls is. */
export function calleeUrlVariables(): string[] {
  return meshServices().map((s) => urlVariable(s.name));
}
