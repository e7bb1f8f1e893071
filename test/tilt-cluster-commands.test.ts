// Real `tilt ci` and `tilt down` in cluster mode, with stand-ins for docker,
// kind, ctlptl, kubectl and istioctl that only record how they were called
// (no Docker here, so nothing can create a real cluster). Asserts which cluster
// commands each subcommand runs: creation only on up/ci, deletion on down.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './support/ports';
import { fakeClusterTools, missingWebAssetsHint, runTilt, writeKubeconfig, type FakeTools } from './support/tilt';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function environment(fake: FakeTools): NodeJS.ProcessEnv {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-kube-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => fake.dispose());
  return { ...process.env, PATH: fake.path, KUBECONFIG: writeKubeconfig(dir) };
}

async function tiltCi(fake: FakeTools) {
  const run = await runTilt(['ci', '--web-mode', 'prod', '--port', String(await freePort())], environment(fake), 120_000);
  const output = run.stdout + run.stderr;
  if (missingWebAssetsHint(output)) throw new Error(`tilt ci could not start:${missingWebAssetsHint(output)}\n${output}`);
  return { ...run, output };
}

describe('cluster commands run by real Tilt (stand-in tools)', () => {
  it('tilt ci creates a missing cluster with `ctlptl apply -f ctlptl.yaml`, then asks for one restart', async () => {
    const fake = fakeClusterTools(); // `kind get clusters` prints nothing: no cluster yet
    const run = await tiltCi(fake);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Created the kind cluster meshloop (context kind-meshloop)');
    expect(run.output).toContain('run `tilt up` again');
    expect(fake.calls()).toEqual(['istioctl version --remote=false', 'docker info', 'kind get clusters', 'ctlptl apply -f ctlptl.yaml']);
  }, 120_000);

  it('tilt ci stops with a clear message when the Docker daemon is not running', async () => {
    const fake = fakeClusterTools(undefined, { docker: 'exit 1' });
    const run = await tiltCi(fake);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('Docker is installed but its daemon is not reachable');
    expect(fake.calls()).not.toContain('ctlptl apply -f ctlptl.yaml');
  }, 120_000);

  it('tilt down runs the namespace and Istio delete commands and never creates a cluster', async () => {
    const fake = fakeClusterTools();
    // The kubeconfig points nowhere, so deleting the applied objects fails; the
    // delete commands of the custom deploys still run, which is what is checked.
    const run = await runTilt(['down'], environment(fake), 120_000);
    expect(run.stderr).toContain('connection refused');
    const calls = fake.calls();
    expect(calls).toContain('kubectl delete -f k8s/namespace.yaml --ignore-not-found --timeout=100s');
    expect(calls).toContain('istioctl uninstall --purge -y');
    expect(calls).toContain('kubectl delete namespace istio-system --ignore-not-found --timeout=100s');
    expect(calls.join('\n')).not.toMatch(/ctlptl|kind |docker/);
  }, 120_000);
});
