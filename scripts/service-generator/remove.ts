// `remove-service`: the inverse of new-service, computed from the repository as it
// is now (no record kept): the generated files go, and the edits of package.json,
// of the callers' package.json and of the callers' manifests are undone.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { editJson, type FileChange } from './plan';
import { GENERATED_MARK, urlEnvLines } from './render-manifests';
import { readMeshServices } from './workspace';

export function planRemoval(root: string, name: string): FileChange[] {
  const meshFile = `istio/mesh/${name}.yaml`;
  const services = readMeshServices(root);
  const service = services.find((s) => s.name === name);
  if (!service) throw new Error(`no service "${name}" (known: ${services.map((s) => s.name).join(', ')})`);
  if (!existsSync(path.join(root, meshFile)) || !readFileSync(path.join(root, meshFile), 'utf8').includes(GENERATED_MARK)) {
    throw new Error(`${name} was not made by new-service (${meshFile} lacks its mark); remove-service only undoes generated services`);
  }
  const callers = services.filter((s) => s.calls.includes(name));
  // A generated caller made with --calls <name> has its allow rule, URL and example call baked
  // into its own files: removing <name> first would leave it broken.
  const generatedCallers = callers.filter((c) => {
    const file = path.join(root, `istio/mesh/${c.name}.yaml`);
    return existsSync(file) && readFileSync(file, 'utf8').includes(`name: ${name}-from-${c.name}\n`);
  });
  if (generatedCallers.length > 0) {
    throw new Error(`${generatedCallers.map((c) => c.name).join(', ')} call ${name} (generated with --calls ${name}): remove them first`);
  }
  const changes: FileChange[] = [
    { action: 'delete', path: service.folder },
    { action: 'delete', path: `k8s/${name}.yaml` },
    { action: 'delete', path: meshFile },
    editJson(root, 'package.json', `workspace ${service.folder} removed`, (p) => {
      p.workspaces = (p.workspaces ?? []).filter((w) => w !== service.folder);
    }),
  ];
  for (const caller of callers) {
    changes.push(
      editJson(root, `${caller.folder}/package.json`, `${caller.name} no longer calls ${name}`, (p) => {
        p.meshloop = { ...p.meshloop, calls: (p.meshloop?.calls ?? []).filter((c) => c !== name) };
      }),
    );
    const manifest = `k8s/${caller.name}.yaml`;
    const before = readFileSync(path.join(root, manifest), 'utf8');
    const indent = /^( *)- name: OTEL_SERVICE_NAME$/m.exec(before)?.[1] ?? '';
    const lines = urlEnvLines(service, indent);
    if (before.includes(lines)) {
      changes.push({ action: 'edit', path: manifest, before, after: before.replace(lines, ''), summary: `${caller.name}'s container loses its URL of ${name}` });
    }
  }
  return changes;
}
