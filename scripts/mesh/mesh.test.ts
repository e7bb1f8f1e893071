// The renderer behind the mesh buttons (routes.ts) and its command line
// (cli.ts): only weights and faults change, the output is a valid manifest
// consistent with the rest of the cluster, and the live state is kept.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { DEFAULT_DELAY_MS } from '../../services/business-logic/src/app';
import { checkRouteWeights, checkRoutes, checkTimeoutLayering } from '../../test/support/manifest-checks';
import { validateManifest, type KubeObject } from '../../test/support/manifests';
import { clusterObjects, fakeKubectl, parseObjects, withReplaced, type FakeKubectl } from '../../test/support/mesh';
import { repoRoot } from '../../test/support/tools';
import { loadRoutes, readState, setCanaryWeight, setFaults, summarize, toYaml, virtualService, type Faults, type VirtualServiceLike } from './routes';

const { app } = clusterObjects();
const committedVs = () => virtualService(loadRoutes(repoRoot));
const faults: Faults = { delayPercent: 50, delaySeconds: 2, abortPercent: 10, abortStatus: 503 };

/** Schema-valid, and the whole cluster stays consistent with it swapped in. */
function expectValidRendering(text: string): KubeObject[] {
  const rendered = parseObjects(text);
  expect(rendered.length).toBeGreaterThan(0);
  for (const object of rendered) expect(() => validateManifest(object)).not.toThrow();
  const objects = withReplaced(app, rendered);
  expect(checkRoutes(objects)).toEqual([]);
  expect(checkRouteWeights(objects)).toEqual([]);
  expect(checkTimeoutLayering(objects, DEFAULT_DELAY_MS).problems).toEqual([]);
  return rendered;
}

function runCli(args: string[], kubectl?: FakeKubectl) {
  const result = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['scripts/mesh/cli.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: kubectl ? `${kubectl.dir}${path.delimiter}${process.env.PATH}` : process.env.PATH },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('routes.ts', () => {
  test('setCanaryWeight changes only the default route\'s weights; the x-canary route, timeouts and retries stay', () => {
    const before = committedVs().toJS() as IVirtualService;
    const vs = committedVs();
    setCanaryWeight(vs, 10);
    const after = vs.toJS() as IVirtualService;
    const last = after.spec!.http!.length - 1;
    expect(after.spec!.http![last]!.route!.map((d) => [d.destination?.subset, d.weight])).toEqual([['v1', 90], ['v2', 10]]);
    // Put the old weights back: nothing else may differ.
    after.spec!.http![last]!.route!.forEach((d, i) => (d.weight = before.spec!.http![last]!.route![i]!.weight));
    expect(after).toEqual(before);
    for (const bad of [-1, 101, 12.5, Number.NaN]) expect(() => setCanaryWeight(committedVs(), bad)).toThrow(/integer from 0 to 100/);
  });

  test('setFaults puts the same fault on every route and removes it again when both percentages are 0', () => {
    const vs = committedVs();
    setFaults(vs, faults);
    const routes = (vs.toJS() as IVirtualService).spec!.http!;
    for (const route of routes) {
      expect(route.fault).toEqual({ delay: { percentage: { value: 50 }, fixedDelay: '2s' }, abort: { percentage: { value: 10 }, httpStatus: 503 } });
    }
    setFaults(vs, { ...faults, abortPercent: 0 });
    expect((vs.toJS() as IVirtualService).spec!.http!.map((r) => r.fault)).toEqual(routes.map(() => ({ delay: { percentage: { value: 50 }, fixedDelay: '2s' } })));
    setFaults(vs, { ...faults, delayPercent: 0, abortPercent: 0 });
    expect(vs.toJS()).toEqual(committedVs().toJS());
    expect(() => setFaults(committedVs(), { ...faults, abortStatus: 99 })).toThrow(/abort status/);
    expect(() => setFaults(committedVs(), { ...faults, delayPercent: 150 })).toThrow(/delay percent/);
  });

  test('readState reads back what was set; summarize marks changed settings with ~ and kept ones with =', () => {
    const vs = committedVs();
    const before = readState(vs.toJS() as VirtualServiceLike);
    expect(before).toEqual({ v2Weight: 0, faults: undefined });
    setCanaryWeight(vs, 50);
    setFaults(vs, faults);
    const after = readState(vs.toJS() as VirtualServiceLike);
    expect(after).toEqual({ v2Weight: 50, faults });
    const lines = summarize(before, after);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}~ default route weights: v1 100%, v2 0% {2}-> {2}v1 50%, v2 50%$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}~ faults: none {2}-> {2}delay 2s on 50% of requests, abort with 503 on 10% of requests$/));
    expect(summarize(after, after).filter((l) => l.startsWith('  ~'))).toEqual([]);
  });

  test('the rendered YAML is valid and consistent with the cluster for every weight and fault the buttons offer', () => {
    for (const weight of [0, 10, 50, 100]) {
      const vs = committedVs();
      setCanaryWeight(vs, weight);
      setFaults(vs, faults);
      expectValidRendering(toYaml([vs]));
    }
    // The schema does look at the fault fields: a mistyped one is rejected.
    const vs = committedVs();
    setFaults(vs, faults);
    vs.setIn(['spec', 'http', 0, 'fault', 'abort', 'httpStatus'], '503');
    expect(() => validateManifest(vs.toJS() as KubeObject)).toThrow(/httpStatus/);
  });
});

describe('cli.ts', () => {
  let kubectl: FakeKubectl | undefined;
  afterEach(() => kubectl?.dispose());

  test.each([
    [['canary', '--weight', '10'], { v2Weight: 10, faults: undefined }],
    [['canary', '--weight', '100'], { v2Weight: 100, faults: undefined }],
    [['faults', '--delay-percent', '50', '--delay-seconds', '2', '--abort-percent', '10', '--abort-status', '503'], { v2Weight: 0, faults }],
    [['reset'], { v2Weight: 0, faults: undefined }],
  ] as const)('--dry-run %j prints valid YAML with the change as comments and calls no kubectl', (args, state) => {
    kubectl = fakeKubectl();
    const run = runCli([...args, '--dry-run'], kubectl);
    expect(run.code, run.stderr).toBe(0);
    expect(kubectl.calls()).toEqual([]);
    expect(run.stdout).toMatch(/^# mesh \w+ \(dry run: nothing applied\)\n/);
    const rendered = expectValidRendering(run.stdout);
    const vs = rendered.find((o) => o.kind === 'VirtualService') as VirtualServiceLike;
    expect(readState(vs)).toEqual(state);
    // reset also restores the DestinationRule; the others apply the VirtualService alone.
    expect(rendered.map((o) => o.kind)).toEqual(args[0] === 'reset' ? ['DestinationRule', 'VirtualService'] : ['VirtualService']);
  });

  test('a weight change keeps the live faults, a fault change keeps the live weight, and the summary compares with the live state', () => {
    const live = committedVs();
    setCanaryWeight(live, 50);
    setFaults(live, faults);
    kubectl = fakeKubectl(live.toJS() as object);

    const canary = runCli(['canary', '--weight', '10', '--context', 'kind-meshloop'], kubectl);
    expect(canary.code, canary.stderr).toBe(0);
    expect(canary.stdout).toContain('~ default route weights: v1 50%, v2 50%  ->  v1 90%, v2 10%');
    expect(canary.stdout).toContain('= faults: delay 2s on 50% of requests');
    expect(canary.stdout).toContain('virtualservice.networking.istio.io/business-logic configured');
    const calls = kubectl.calls();
    expect(calls).toEqual([
      ['--context', 'kind-meshloop', '-n', 'meshloop', 'get', 'virtualservice', 'business-logic', '-o', 'json'],
      ['--context', 'kind-meshloop', 'apply', '-f', '-'],
    ]);
    const [applied] = kubectl.applied();
    expect(readState(expectValidRendering(applied!)[0] as VirtualServiceLike)).toEqual({ v2Weight: 10, faults });

    const cleared = runCli(['faults', '--delay-percent', '0', '--delay-seconds', '2', '--abort-percent', '0', '--abort-status', '503'], kubectl);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(readState(parseObjects(kubectl.applied()[1]!)[0] as VirtualServiceLike)).toEqual({ v2Weight: 50, faults: undefined });
  });

  test('without a reachable cluster it says so, compares with the committed file, and fails when kubectl apply fails', () => {
    kubectl = fakeKubectl(undefined, { failApply: true });
    const run = runCli(['canary', '--weight', '50'], kubectl);
    expect(run.stdout).toContain('could not read the live VirtualService');
    expect(run.stdout).toContain('~ default route weights: v1 100%, v2 0%  ->  v1 50%, v2 50%');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('kubectl apply failed: error: admission webhook denied');
  });

  test.each([
    [['canary', '--weight', 'ten'], '--weight must be a number'],
    [['canary', '--weight', '101'], 'canary weight must be an integer from 0 to 100'],
    [['canary'], '--weight is required'],
    [['faults', '--delay-percent', '10', '--delay-seconds', '0', '--abort-percent', '0', '--abort-status', '503'], 'delay seconds'],
    [['scale'], "unknown command 'scale'"],
  ])('%j exits 2 with a usage message before touching the cluster', (args, message) => {
    kubectl = fakeKubectl();
    const run = runCli(args, kubectl);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: mesh <command>');
    expect(kubectl.calls()).toEqual([]);
  });
});
