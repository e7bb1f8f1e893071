// The objects the mesh checks reason about: the app (k8s/), the mesh
// (istio/mesh/), the observability add-ons' manifests and the Istio install.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { IstioOperatorDoc } from './manifest-checks';
import { type KubeObject, loadManifests, loadYamlDocuments } from './manifests';
import { repoRoot } from './tools';

/** observability/namespace.yaml and observability/<tool>/k8s.yaml (the folders also hold the tools' own config files). */
export function observabilityObjects(): KubeObject[] {
  const tools = readdirSync(path.join(repoRoot, 'observability'), { withFileTypes: true }).filter((e) => e.isDirectory());
  const files = ['observability/namespace.yaml', ...tools.map((t) => `observability/${t.name}/k8s.yaml`)];
  return files.flatMap((file) => loadYamlDocuments(file) as KubeObject[]);
}

export function clusterObjects(): { app: KubeObject[]; all: KubeObject[]; iop: IstioOperatorDoc } {
  const app = loadManifests(['k8s', 'istio'], ['istio/install']).map((m) => m.object);
  const iop = loadYamlDocuments('istio/install/istio-config.yaml')[0] as IstioOperatorDoc;
  return { app, all: [...app, ...observabilityObjects()], iop };
}

/** A deep copy of `objects` with one object changed (for the checks' negative cases). */
export function mutatedCopy(objects: KubeObject[], kind: string, name: string, mutate: (object: KubeObject) => void): KubeObject[] {
  const copy = structuredClone(objects);
  const target = copy.find((o) => o.kind === kind && o.metadata.name === name);
  if (!target) throw new Error(`no ${kind} ${name} to mutate`);
  mutate(target);
  return copy;
}

/** The Kubernetes objects of a YAML stream (e.g. what a button would apply); throws on YAML errors. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(document.errors.map((e) => e.message).join('; '));
    const value = document.toJS() as KubeObject | null;
    return value ? [value] : [];
  });
}

/** `objects` with every object of `replacements` (same kind, namespace and name) swapped in. */
export function withReplaced(objects: KubeObject[], replacements: KubeObject[]): KubeObject[] {
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
  const byKey = new Map(replacements.map((o) => [key(o), o]));
  const missing = replacements.filter((r) => !objects.some((o) => key(o) === key(r)));
  if (missing.length > 0) throw new Error(`not in the manifests: ${missing.map(key).join(', ')}`);
  return objects.map((o) => byKey.get(key(o)) ?? o);
}

export interface FakeKubectl {
  /** PATH entry to put first. */
  dir: string;
  /** Every call's arguments, in order. */
  calls(): string[][];
  /** stdin of each `apply -f -`, in order. */
  applied(): string[];
  dispose(): void;
}

/**
 * A `kubectl` stand-in: `get ... -o json` prints `live` (or fails like an
 * unreachable cluster when undefined), `apply -f -` records its stdin and
 * answers like kubectl; `failApply` makes apply fail.
 */
export function fakeKubectl(live?: object, options: { failApply?: boolean } = {}): FakeKubectl {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-kubectl-'));
  const liveFile = path.join(dir, 'live.json');
  if (live) writeFileSync(liveFile, JSON.stringify(live));
  const script = `#!/bin/sh
dir='${dir}'
n=$(ls "$dir" | grep -c '^call-')
printf '%s\\n' "$@" > "$dir/call-$n"
case " $* " in
  *" get "*) if [ -f "$dir/live.json" ]; then cat "$dir/live.json"; exit 0; fi
             echo 'The connection to the server 127.0.0.1:1 was refused' >&2; exit 1 ;;
  *" apply "*) cat > "$dir/applied-$n"
               ${options.failApply ? `echo 'error: admission webhook denied the request' >&2; exit 1` : `echo 'virtualservice.networking.istio.io/business-logic configured'; exit 0`} ;;
esac
echo "fake kubectl: unexpected call $*" >&2; exit 3
`;
  writeFileSync(path.join(dir, 'kubectl'), script, { mode: 0o755 });
  const files = (prefix: string) =>
    readdirSync(dir)
      .filter((f) => f.startsWith(prefix))
      .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'));
  return {
    dir,
    calls: () => files('call-').map((text) => text.split('\n').filter((line) => line !== '')),
    applied: () => files('applied-'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
