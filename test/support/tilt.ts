import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, toolPath } from './tools';

/** The kube context the Tiltfile deploys to (docs/cluster-layout.md). */
export const CLUSTER_CONTEXT = 'kind-meshloop';

export interface TiltRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A kubeconfig whose current context is `context`, pointing at a server nothing
 * listens on: the Tiltfile sees the context name it expects, and nothing can
 * reach a real cluster. Returns the file path inside `dir`.
 */
export function writeKubeconfig(dir: string, context = CLUSTER_CONTEXT): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${context}`,
      'clusters:',
      `- name: ${context}`,
      '  cluster: {server: "https://127.0.0.1:1"}',
      'contexts:',
      `- name: ${context}`,
      `  context: {cluster: ${context}, user: ${context}}`,
      'users:',
      `- name: ${context}`,
      '  user: {}',
      '',
    ].join('\n'),
  );
  return file;
}

/** Runs the real tilt binary; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runTilt(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<TiltRun> {
  return new Promise((resolve, reject) => {
    execFile(toolPath('tilt'), args, { cwd: repoRoot, env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/**
 * A Tilt built from its Go module has no bundled web UI (pkg/assets/build is
 * filled by Tilt's release process), and `tilt up` / `tilt ci` refuse to start
 * without it. Returns an explanation when `output` shows that, else ''.
 */
export function missingWebAssetsHint(output: string): string {
  return /web static files|JS\/CSS files are not available/.test(output)
    ? '\nThis tilt binary has no bundled web assets (pkg/assets/build), so `tilt up` / `tilt ci` cannot start: build it with them (scripts/ensure-tools.sh).'
    : '';
}

export interface TiltfileResultOptions {
  /** Tiltfile arguments (what a user writes after `--`). */
  args?: string[];
  /** Current context of the temporary kubeconfig (default kind-meshloop). */
  context?: string;
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /**
   * Sets MESHLOOP_SKIP_PREREQS=1 (default true). This machine has no Docker,
   * kind, ctlptl or istioctl; the Tiltfile's prerequisite check would stop the
   * evaluation. Evaluation never creates anything either way: the Tiltfile
   * runs `ctlptl apply` only for `tilt up` / `tilt ci`, and the kubeconfig
   * points nowhere.
   */
  skipPrereqs?: boolean;
  /** -v: Tilt prints the Tiltfile's own log (print, warn) on stderr. */
  verbose?: boolean;
  /** The Tiltfile to evaluate (default: the repo's). */
  tiltfile?: string;
}

/** `tilt alpha tiltfile-result -f Tiltfile -- <args>` on the repo's Tiltfile; raw exit code and output. */
export async function runTiltfileResult(options: TiltfileResultOptions = {}): Promise<TiltRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-tiltfile-'));
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: writeKubeconfig(dir, options.context),
      MESHLOOP_SKIP_PREREQS: options.skipPrereqs === false ? '' : '1',
    };
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const flags = ['-f', options.tiltfile ?? path.join(repoRoot, 'Tiltfile'), ...(options.verbose ? ['-v'] : [])];
    return await runTilt(['alpha', 'tiltfile-result', ...flags, '--', ...(options.args ?? [])], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const CLUSTER_TOOLS = ['docker', 'kind', 'ctlptl', 'kubectl', 'istioctl'] as const;
export type ClusterTool = (typeof CLUSTER_TOOLS)[number];

export interface FakeTools {
  /** Use as the whole PATH: `sh` plus the stand-ins, nothing else. */
  path: string;
  /** Every call so far, as "tool arg1 arg2 ...", in order. */
  calls(): string[];
  dispose(): void;
}

/**
 * Stand-ins for the cluster tools (this machine has no Docker, so nothing real
 * can create a cluster): each records its arguments and exits 0; `istioctl
 * version` prints the pinned version. `scripts` replaces a tool's body,
 * e.g. `{ kind: 'echo meshloop' }` for a cluster that exists.
 */
export function fakeClusterTools(present: readonly ClusterTool[] = CLUSTER_TOOLS, scripts: Partial<Record<ClusterTool, string>> = {}): FakeTools {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-fake-tools-'));
  const log = path.join(dir, 'calls.log');
  writeFileSync(log, '');
  symlinkSync('/bin/sh', path.join(dir, 'sh'));
  for (const tool of present) {
    const body = scripts[tool] ?? (tool === 'istioctl' ? '[ "$1" = version ] && echo 1.30.3' : '');
    writeFileSync(path.join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n${body}\nexit 0\n`);
    chmodSync(path.join(dir, tool), 0o755);
  }
  return {
    path: dir,
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// --- The JSON printed by `tilt alpha tiltfile-result` (Tilt calls it unstable;
// --- only the fields the tests read are typed, as Tilt v0.37 writes them).

interface RawUrl {
  Scheme: string;
  Host: string;
  Path: string;
  RawQuery: string;
}
interface RawLink {
  URL: RawUrl;
  Name: string;
}
interface RawCmd {
  args?: string[] | null;
  dir?: string;
  env?: string[] | null;
}
interface RawImageTarget {
  selector: string;
  LiveUpdateSpec?: {
    stopPaths?: string[] | null;
    syncs?: Array<{ localPath: string; containerPath: string }> | null;
    execs?: Array<{ args: string[]; triggerPaths?: string[] | null }> | null;
  };
  BuildDetails?: {
    dockerfileContents: string;
    context: string;
    contextIgnores?: Array<{ basePath: string; patterns?: string[] | null }> | null;
    args?: string[] | null;
    target?: string;
  };
}
interface RawDeployTarget {
  // Kubernetes (k8s_yaml / k8s_custom_deploy)
  yaml?: string;
  applyCmd?: RawCmd;
  deleteCmd?: RawCmd;
  timeout?: string;
  portForwardTemplateSpec?: { forwards: Array<{ localPort: number; containerPort?: number; name?: string; path?: string }> };
  PodReadinessMode?: string;
  // local_resource
  UpdateCmdSpec?: RawCmd | null;
  ServeCmd?: { Argv: string[] | null; Dir: string; Env: string[] | null };
  ReadinessProbe?: { httpGet?: { path?: string; port: number; host?: string }; periodSeconds?: number; timeoutSeconds?: number } | null;
  Links?: RawLink[] | null;
  /** local_resource deps (absolute paths) and allow_parallel */
  Deps?: string[] | null;
  AllowParallel?: boolean;
}
interface RawManifest {
  Name: string;
  ImageTargets: RawImageTarget[] | null;
  DeployTarget: RawDeployTarget;
  ResourceDependencies: string[] | null;
  Labels: Record<string, string> | null;
  /** 0 auto, 1 manual with auto init, 2 manual, 3 auto with manual init (pkg/model/trigger_mode.go) */
  TriggerMode?: number;
}
interface RawObject<Spec> {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Spec;
}
interface RawUIButtonSpec {
  location: { componentID: string; componentType: string };
  text: string;
  iconName?: string;
  inputs?: Array<{ name: string; label?: string; text?: { defaultValue?: string; placeholder?: string } }>;
}
interface RawCmdSpec {
  args: string[];
  dir?: string;
  startOn?: { uiButtons: string[] };
}
interface RawResult {
  Manifests: RawManifest[];
  EnabledManifests: string[];
  ConfigFiles: string[];
  CISettings: { timeout?: string; readinessTimeout?: string } | null;
  ObjectSet: Record<string, Record<string, unknown>>;
}

// --- Normalized view used by the tests.

export interface LiveUpdate {
  /** fall_back_on paths, relative to the repo root */
  fallBackOn: string[];
  syncs: Array<{ local: string; remote: string }>;
  runs: Array<{ command: string[]; triggers: string[] }>;
}

export interface Image {
  ref: string;
  /** Contents of the Dockerfile Tilt read (the result has no path). */
  dockerfileContents: string;
  /** Build context relative to the repo root ('.' for the root). */
  context: string;
  target: string;
  buildArgs: Record<string, string>;
  /** `only=` paths (relative to the context), from the ignore patterns Tilt derives from them. */
  only: string[];
  liveUpdate: LiveUpdate;
}

export interface Resource {
  name: string;
  kind: 'k8s' | 'k8s_custom_deploy' | 'local_resource';
  labels: string[];
  resourceDeps: string[];
  links: Array<{ url: string; name: string }>;
  portForwards: Array<{ local: number; container: number | undefined; name?: string; path?: string }>;
  images: Image[];
  /** YAML Tilt applies itself (k8s resources). */
  yaml: string;
  /** Per-apply timeout Tilt uses (k8s resources), e.g. "5m0s". */
  timeout?: string;
  /** Whether Tilt waits for pods before the resource is ready (k8s resources): "wait" or "ignore". */
  podReadiness?: string;
  applyCmd?: string[];
  deleteCmd?: string[];
  applyDir?: string;
  /** local_resource */
  updateCmd?: string[];
  serveCmd?: string[];
  serveDir?: string;
  serveEnv?: Record<string, string>;
  readinessHttpGet?: { port: number; path: string };
  /** local_resource deps, relative to the repo root */
  deps?: string[];
  allowParallel?: boolean;
  /** Whether a file change starts an update, and whether one runs at startup. */
  trigger: { onChange: boolean; atStart: boolean };
}

export interface Button {
  name: string;
  text: string;
  location: { componentID: string; componentType: string };
  inputs: Array<{ name: string; label: string; defaultValue: string | undefined }>;
}

export interface ButtonCmd {
  name: string;
  args: string[];
  dir: string | undefined;
  startOnButtons: string[];
  annotations: Record<string, string>;
}

export interface TiltfileResult {
  resources: Resource[];
  enabled: string[];
  configFiles: string[];
  ciSettings: { timeout?: string; readinessTimeout?: string };
  buttons: Button[];
  cmds: ButtonCmd[];
  resource(name: string): Resource;
  button(name: string): Button;
  cmd(name: string): ButtonCmd;
  raw: RawResult;
}

const rel = (p: string) => path.relative(repoRoot, p) || '.';
const urlOf = ({ Scheme, Host, Path, RawQuery }: RawUrl) => `${Scheme}://${Host}${Path}${RawQuery ? `?${RawQuery}` : ''}`;
const envMap = (list: string[] | null | undefined) =>
  Object.fromEntries((list ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

function image(raw: RawImageTarget): Image {
  const build = raw.BuildDetails;
  const lu = raw.LiveUpdateSpec ?? {};
  // `only=[a, b]` becomes the ignore patterns ['**', '!a', '!b'] on the context.
  const onlyPatterns = (build?.contextIgnores ?? []).find((i) => i.patterns?.[0] === '**')?.patterns ?? [];
  return {
    ref: raw.selector,
    dockerfileContents: build?.dockerfileContents ?? '',
    context: build ? rel(build.context) : '',
    target: build?.target ?? '',
    buildArgs: envMap(build?.args),
    only: onlyPatterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1)),
    liveUpdate: {
      fallBackOn: lu.stopPaths ?? [],
      syncs: (lu.syncs ?? []).map((s) => ({ local: s.localPath, remote: s.containerPath })),
      runs: (lu.execs ?? []).map((e) => ({ command: e.args, triggers: e.triggerPaths ?? [] })),
    },
  };
}

function resource(raw: RawManifest): Resource {
  const d = raw.DeployTarget;
  const kind = d.applyCmd ? 'k8s_custom_deploy' : d.ServeCmd !== undefined || d.UpdateCmdSpec !== undefined ? 'local_resource' : 'k8s';
  const probe = d.ReadinessProbe?.httpGet;
  return {
    name: raw.Name,
    kind,
    labels: Object.keys(raw.Labels ?? {}).sort(),
    resourceDeps: raw.ResourceDependencies ?? [],
    links: (d.Links ?? []).map((l) => ({ url: urlOf(l.URL), name: l.Name })),
    portForwards: (d.portForwardTemplateSpec?.forwards ?? []).map((f) => ({
      local: f.localPort,
      container: f.containerPort,
      ...(f.name ? { name: f.name } : {}),
      ...(f.path ? { path: f.path } : {}),
    })),
    images: (raw.ImageTargets ?? []).map(image),
    yaml: d.yaml ?? '',
    timeout: d.timeout,
    podReadiness: d.PodReadinessMode,
    applyCmd: d.applyCmd?.args ?? undefined,
    deleteCmd: d.deleteCmd?.args ?? undefined,
    applyDir: d.applyCmd?.dir,
    updateCmd: d.UpdateCmdSpec?.args ?? undefined,
    serveCmd: d.ServeCmd?.Argv ?? undefined,
    serveDir: d.ServeCmd?.Dir,
    serveEnv: d.ServeCmd ? envMap(d.ServeCmd.Env) : undefined,
    readinessHttpGet: probe ? { port: probe.port, path: probe.path ?? '' } : undefined,
    deps: d.Deps ? d.Deps.map(rel) : undefined,
    allowParallel: d.AllowParallel,
    trigger: { onChange: [0, 3].includes(raw.TriggerMode ?? 0), atStart: [0, 1].includes(raw.TriggerMode ?? 0) },
  };
}

function objects<Spec>(raw: RawResult, resourceName: string): Array<RawObject<Spec>> {
  return Object.values(raw.ObjectSet[`tilt.dev/v1alpha1, Resource=${resourceName}`] ?? {}) as Array<RawObject<Spec>>;
}

function find<T extends { name: string }>(list: T[], name: string, what: string): T {
  const found = list.find((item) => item.name === name);
  if (!found) throw new Error(`no ${what} named ${name}; have: ${list.map((item) => item.name).join(', ') || 'none'}`);
  return found;
}

export function parseTiltfileResult(json: string): TiltfileResult {
  const raw = JSON.parse(json) as RawResult;
  const resources = raw.Manifests.map(resource);
  const buttons: Button[] = objects<RawUIButtonSpec>(raw, 'uibuttons').map((o) => ({
    name: o.metadata.name,
    text: o.spec.text,
    location: o.spec.location,
    inputs: (o.spec.inputs ?? []).map((i) => ({ name: i.name, label: i.label ?? '', defaultValue: i.text?.defaultValue })),
  }));
  const cmds: ButtonCmd[] = objects<RawCmdSpec>(raw, 'cmds').map((o) => ({
    name: o.metadata.name,
    args: o.spec.args,
    dir: o.spec.dir,
    startOnButtons: o.spec.startOn?.uiButtons ?? [],
    annotations: o.metadata.annotations ?? {},
  }));
  return {
    resources,
    enabled: raw.EnabledManifests,
    configFiles: raw.ConfigFiles.map(rel),
    ciSettings: raw.CISettings ?? {},
    buttons,
    cmds,
    resource: (name) => find(resources, name, 'resource'),
    button: (name) => find(buttons, name, 'UIButton'),
    cmd: (name) => find(cmds, name, 'Cmd'),
    raw,
  };
}

/** Evaluates the repo's Tiltfile with real Tilt and returns its parsed result; throws with Tilt's stderr on an error. */
export async function tiltfileResult(options: TiltfileResultOptions = {}): Promise<TiltfileResult> {
  const run = await runTiltfileResult(options);
  if (run.code !== 0) {
    throw new Error(`tilt alpha tiltfile-result ${(options.args ?? []).join(' ')} exited ${run.code}:\n${run.stderr}`);
  }
  return parseTiltfileResult(run.stdout);
}

/**
 * Evaluates a Tiltfile made of `lines` (written to a temporary folder), e.g.
 * one that loads a sub-Tiltfile and calls its functions with stand-in resources.
 */
export async function tiltfileResultOf(lines: string[], options: Omit<TiltfileResultOptions, 'tiltfile'> = {}): Promise<TiltfileResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-tiltfile-src-'));
  try {
    const tiltfile = path.join(dir, 'Tiltfile');
    writeFileSync(tiltfile, [...lines, ''].join('\n'));
    return await tiltfileResult({ ...options, tiltfile });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- A running `tilt up`: the same HTTP API the web UI uses.

/** RFC 3339 with microseconds: Tilt's apiserver rejects fewer fraction digits. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Clicks a UIButton the way Tilt's web UI does (web/src/ApiButton.tsx):
 * read the session token the UI gets as the `Tilt-Token` cookie from the
 * index page, then PUT the button's status subresource through `/proxy` with
 * a new `lastClickedAt` and the input values. The Cmd whose start_on names
 * the button then runs with each input as an environment variable.
 */
export async function clickButton(tiltPort: number, name: string, inputs: Record<string, string>): Promise<string> {
  const base = `http://localhost:${tiltPort}`;
  const index = await fetch(`${base}/`);
  await index.arrayBuffer();
  const token = index.headers
    .getSetCookie()
    .map((c) => /^Tilt-Token=([^;]+)/.exec(c)?.[1])
    .find(Boolean);
  if (!token) throw new Error(`Tilt at ${base} set no Tilt-Token cookie`);
  const headers = { cookie: `Tilt-Token=${token}`, accept: 'application/json', 'content-type': 'application/json' };
  const url = `${base}/proxy/apis/tilt.dev/v1alpha1/uibuttons/${name}`;

  const current = await fetch(url, { headers });
  if (!current.ok) throw new Error(`GET ${url}: ${current.status} ${await current.text()}`);
  const button = (await current.json()) as { metadata: unknown; status?: Record<string, unknown> };
  const clickedAt = microTime();
  const update = {
    metadata: button.metadata,
    status: {
      ...button.status,
      lastClickedAt: clickedAt,
      inputs: Object.entries(inputs).map(([inputName, value]) => ({ name: inputName, text: { value } })),
    },
  };
  const put = await fetch(`${url}/status`, { method: 'PUT', headers, body: JSON.stringify(update) });
  if (put.status !== 200) throw new Error(`PUT ${url}/status: ${put.status} ${await put.text()}`);
  return clickedAt;
}
