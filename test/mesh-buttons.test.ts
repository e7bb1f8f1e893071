// istio/Tiltfile evaluated by real Tilt (`tilt alpha tiltfile-result`): the
// nav-bar buttons, the tls-cert and business-logic-v2 resources. Then each
// button's command, exactly as Tilt would start it (argv, dir, inputs as env),
// runs against a stand-in kubectl that records what would be applied: that
// YAML must be consistent with the rest of the cluster (its validity is checked
// by the real API server and istiod's webhook in test/cluster/manifests-api.test.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_DELAY_MS } from '../services/business-logic/src/app';
import { readState, type VirtualServiceLike } from '../scripts/mesh/routes';
import { checkRouteWeights, checkRoutes, checkTimeoutLayering } from './support/manifest-checks';
import { clusterObjects, fakeKubectl, parseObjects, withReplaced } from './support/mesh';
import { tiltfileResultOf, type ButtonCmd, type TiltfileResult } from './support/tilt';
import { repoRoot } from './support/tools';

let result: TiltfileResult;

beforeAll(async () => {
  // The functions the top-level Tiltfile calls, with a stand-in `istio` resource to depend on.
  result = await tiltfileResultOf([
    `load('${path.join(repoRoot, 'istio', 'Tiltfile')}', 'business_logic_canary', 'mesh_buttons', 'tls_certificate')`,
    "local_resource('istio', cmd='true')",
    "mesh_buttons('kind-meshloop')",
    "tls_certificate('kind-meshloop', resource_deps=['istio'])",
    "business_logic_canary(resource_deps=['istio'])",
  ]);
}, 120_000);

/** The button's inputs with their choices (the shared parser reads text inputs only). */
function choices(name: string): Record<string, string[]> {
  const raw = result.raw.ObjectSet['tilt.dev/v1alpha1, Resource=uibuttons']?.[name] as
    | { spec: { inputs?: Array<{ name: string; choice?: { choices: string[] } }> } }
    | undefined;
  if (!raw) throw new Error(`no UIButton ${name}`);
  return Object.fromEntries((raw.spec.inputs ?? []).map((i) => [i.name, i.choice?.choices ?? []]));
}

/** Starts the Cmd like Tilt does on a click: its argv in its dir, inputs as environment variables. */
function click(cmd: ButtonCmd, inputs: Record<string, string>, kubectlDir: string) {
  const [command, ...args] = cmd.args;
  const run = spawnSync(command!, args, {
    cwd: cmd.dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...inputs, PATH: `${kubectlDir}${path.delimiter}${process.env.PATH}` },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Consistent with the rest of the cluster once applied; returns the applied
 * VirtualService's state. (That every button's output is valid is checked by the
 * real API server and istiod's webhook: test/cluster/manifests-api.test.ts.)
 */
function expectValidApply(yaml: string) {
  const objects = parseObjects(yaml);
  const cluster = withReplaced(clusterObjects().app, objects);
  expect([...checkRoutes(cluster), ...checkRouteWeights(cluster)]).toEqual([]);
  expect(checkTimeoutLayering(cluster, DEFAULT_DELAY_MS).problems).toEqual([]);
  return readState(objects.find((o) => o.kind === 'VirtualService') as VirtualServiceLike);
}

describe('istio/Tiltfile', () => {
  test('puts Canary weight, Faults and Reset mesh in the nav bar with dropdown inputs', () => {
    expect(result.buttons.map((b) => [b.name, b.text, b.location])).toEqual([
      ['canary-weight', 'Canary weight', { componentID: 'nav', componentType: 'Global' }],
      ['faults', 'Faults', { componentID: 'nav', componentType: 'Global' }],
      ['reset-mesh', 'Reset mesh', { componentID: 'nav', componentType: 'Global' }],
    ]);
    expect(choices('canary-weight')).toEqual({ WEIGHT: ['0', '10', '50', '100'] });
    expect(choices('faults')).toEqual({
      DELAY_PERCENT: ['0', '10', '50', '100'],
      DELAY_SECONDS: ['2', '5', '12'],
      ABORT_PERCENT: ['0', '10', '50', '100'],
      ABORT_STATUS: ['503', '500', '502', '504'],
    });
    expect(choices('reset-mesh')).toEqual({});
    for (const button of result.buttons) for (const input of button.inputs) expect(input.label, `${button.name} ${input.name}`).not.toBe('');
  });

  test('each button starts its own Cmd in the repository root, aimed at the given kube context', () => {
    for (const name of ['canary-weight', 'faults', 'reset-mesh']) {
      const cmd = result.cmd(name);
      expect(cmd.startOnButtons).toEqual([name]);
      expect(cmd.dir).toBe(repoRoot);
      expect(cmd.args.slice(0, 2)).toEqual(['sh', '-c']);
      expect(cmd.args[2]).toMatch(/^node_modules\/\.bin\/tsx scripts\/mesh\/cli\.ts (canary|faults|reset)\b.* --context 'kind-meshloop'$/);
      expect(cmd.annotations['tilt.dev/resource']).toBe('(Tiltfile)');
    }
  });

  test('tls-cert runs scripts/mesh/local-ca.sh for the kube context after istio, reruns when the script changes, links https://localhost:8443', () => {
    const tls = result.resource('tls-cert');
    expect(tls.kind).toBe('local_resource');
    expect(tls.updateCmd).toEqual(['sh', '-c', "bash scripts/mesh/local-ca.sh --context 'kind-meshloop'"]);
    expect(tls.labels).toEqual(['mesh']);
    expect(tls.resourceDeps).toEqual(['istio']);
    expect(tls.links.map((l) => l.url)).toEqual(['https://localhost:8443/']);
    const deps = (result.raw.Manifests.find((m) => m.Name === 'tls-cert')?.DeployTarget as { Deps?: string[] }).Deps;
    expect(deps).toEqual([path.join(repoRoot, 'scripts', 'mesh', 'local-ca.sh')]);
  });

  test('business-logic-v2 deploys k8s/business-logic-v2.yaml with the business-logic image, labelled services', () => {
    const v2 = result.resource('business-logic-v2');
    expect(v2.labels).toEqual(['services']);
    expect(v2.resourceDeps).toEqual(['istio']);
    const objects = parseObjects(v2.yaml);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Deployment/business-logic-v2']);
    expect(v2.yaml).toMatch(/image: business-logic\b/);
  });
});

describe('the buttons\' commands (stand-in kubectl)', () => {
  test.each(['0', '10', '50', '100'])('Canary weight %s applies a VirtualService with that weight, consistent with the routes and timeouts', (weight) => {
    const kubectl = fakeKubectl();
    try {
      const run = click(result.cmd('canary-weight'), { WEIGHT: weight }, kubectl.dir);
      expect(run.code, run.stderr).toBe(0);
      expect(kubectl.calls().at(-1)).toEqual(['--context', 'kind-meshloop', 'apply', '-f', '-']);
      expect(expectValidApply(kubectl.applied()[0]!)).toEqual({ v2Weight: Number(weight), faults: undefined });
      expect(run.stdout).toContain('default route weights');
    } finally {
      kubectl.dispose();
    }
  });

  // Every choice of every input at least once (the others at their defaults, the first choice).
  const faultCases: Array<Record<string, string>> = [
    { DELAY_PERCENT: '0', DELAY_SECONDS: '2', ABORT_PERCENT: '0', ABORT_STATUS: '503' },
    ...['10', '50', '100'].map((p) => ({ DELAY_PERCENT: p, DELAY_SECONDS: '2', ABORT_PERCENT: '0', ABORT_STATUS: '503' })),
    ...['5', '12'].map((s) => ({ DELAY_PERCENT: '10', DELAY_SECONDS: s, ABORT_PERCENT: '0', ABORT_STATUS: '503' })),
    ...['10', '50', '100'].map((p) => ({ DELAY_PERCENT: '0', DELAY_SECONDS: '2', ABORT_PERCENT: p, ABORT_STATUS: '503' })),
    ...['500', '502', '504'].map((code) => ({ DELAY_PERCENT: '0', DELAY_SECONDS: '2', ABORT_PERCENT: '10', ABORT_STATUS: code })),
  ];
  test.each(faultCases)('Faults %j applies a VirtualService with exactly those faults, consistent with the routes and timeouts', (inputs) => {
    const kubectl = fakeKubectl();
    try {
      const run = click(result.cmd('faults'), inputs, kubectl.dir);
      expect(run.code, run.stderr).toBe(0);
      const state = expectValidApply(kubectl.applied()[0]!);
      const delay = Number(inputs.DELAY_PERCENT);
      const abort = Number(inputs.ABORT_PERCENT);
      expect(state.v2Weight).toBe(0);
      expect(state.faults).toEqual(
        delay === 0 && abort === 0
          ? undefined
          : {
              delayPercent: delay,
              delaySeconds: delay > 0 ? Number(inputs.DELAY_SECONDS) : 0,
              abortPercent: abort,
              abortStatus: abort > 0 ? Number(inputs.ABORT_STATUS) : 503,
            },
      );
    } finally {
      kubectl.dispose();
    }
  });

  test('Reset mesh applies the committed DestinationRule and VirtualService unchanged', () => {
    const kubectl = fakeKubectl();
    try {
      const run = click(result.cmd('reset-mesh'), {}, kubectl.dir);
      expect(run.code, run.stderr).toBe(0);
      const applied = parseObjects(kubectl.applied()[0]!);
      expect(applied).toEqual(parseObjects(readFileSync(path.join(repoRoot, 'istio/mesh/business-logic-routes.yaml'), 'utf8')));
      expect(expectValidApply(kubectl.applied()[0]!)).toEqual({ v2Weight: 0, faults: undefined });
    } finally {
      kubectl.dispose();
    }
  });
});
