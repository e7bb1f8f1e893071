// Real istioctl (built from the pinned istio.io/istio module: scripts/tools/istio.sh).
// Every call has a timeout: some commands (e.g. kube-inject without --revision) wait
// for a cluster forever. Without a kubeconfig of the caller's, istioctl gets one that
// points at a dead loopback port, so it can never reach a cluster this run did not make.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './manifests';
import { repoRoot, toolPath } from './tools';

export interface IstioctlResult {
  status: number;
  stdout: string;
  stderr: string;
}

let scratch: string | undefined;
/** A private HOME and a kubeconfig whose only server is 127.0.0.1:1 (nothing listens there). */
function isolation(): { home: string; deadKubeconfig: string } {
  scratch ??= mkdtempSync(path.join(os.tmpdir(), 'meshloop-istioctl-'));
  const deadKubeconfig = path.join(scratch, 'kubeconfig');
  writeFileSync(
    deadKubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: none, user: {}}]',
      'contexts: [{name: none, context: {cluster: none, user: none}}]',
      'current-context: none',
      '',
    ].join('\n'),
  );
  return { home: scratch, deadKubeconfig };
}

/** A file in the private scratch folder (for mutated copies and extracted config). */
export function scratchFile(name: string, content: string): string {
  const file = path.join(isolation().home, name);
  writeFileSync(file, content);
  return file;
}

/** Runs istioctl in the repository root; never throws for a non-zero exit, throws on timeout. */
export function istioctl(args: string[], options: { kubeconfig?: string; timeoutMs?: number } = {}): IstioctlResult {
  const { home, deadKubeconfig } = isolation();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const run = spawnSync(toolPath('istioctl'), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 256 << 20,
    env: { ...process.env, HOME: home, KUBECONFIG: options.kubeconfig ?? deadKubeconfig },
  });
  if (run.error) throw new Error(`istioctl ${args.join(' ')}: ${run.error.message} (timeout ${timeoutMs} ms)`, { cause: run.error });
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** Like istioctl(), but fails with its output unless it exits 0. */
export function istioctlOk(args: string[], options: { kubeconfig?: string; timeoutMs?: number } = {}): string {
  const run = istioctl(args, options);
  if (run.status !== 0) throw new Error(`istioctl ${args.join(' ')} exited ${run.status}:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

export function parseObjectsLoose(text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(document.errors.map((e) => e.message).join('; '));
    const value = document.toJS() as KubeObject | null;
    return value ? [value] : [];
  });
}

export const installConfig = 'istio/install/istio-config.yaml';

/** `istioctl manifest generate -f istio/install/istio-config.yaml`: the objects `istioctl install` applies. */
export function renderInstall(file = installConfig): KubeObject[] {
  return parseObjectsLoose(istioctlOk(['manifest', 'generate', '-f', file]));
}

export function findObject(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

/** data.<key> of a rendered ConfigMap. */
export function configMapData(objects: KubeObject[], name: string, key: string): string {
  const data = (findObject(objects, 'ConfigMap', name) as KubeObject & { data?: Record<string, string> }).data;
  const value = data?.[key];
  if (value === undefined) throw new Error(`ConfigMap ${name} has no data.${key}`);
  return value;
}

/**
 * The manifest files Tilt applies in cluster mode, relative to the root: k8s/ (the
 * namespace, the services, the v2 canary), istio/mesh/, and the observability
 * namespace and add-ons (observability/Tiltfile adds generated ConfigMaps of the
 * tools' own config files, which carry nothing Istio analyzes).
 */
export function tiltAppliedFiles(): string[] {
  const yamls = (dir: string) =>
    readdirSync(path.join(repoRoot, dir))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => `${dir}/${f}`);
  const addons = readdirSync(path.join(repoRoot, 'observability'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(repoRoot, 'observability', e.name, 'k8s.yaml')))
    .map((e) => `observability/${e.name}/k8s.yaml`)
    .sort();
  return [...yamls('k8s'), ...yamls('istio/mesh'), 'observability/namespace.yaml', ...addons];
}


/** The "Skipped analyzers:" list that `istioctl analyze -v` prints on stderr. */
export function skippedAnalyzers(stderr: string): string[] {
  const section = stderr.split('Skipped analyzers:')[1]?.split('Executed analyzers:')[0] ?? '';
  return section
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
