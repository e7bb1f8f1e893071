// Real `tilt ci` in cluster mode before a cluster exists, with stand-ins for
// docker, kind, ctlptl, kubectl and istioctl that only record how they were
// called: creating a kind cluster needs kind's node image, which cannot be
// pulled here. Everything after the cluster exists (tilt ci on a real node,
// tilt down removing everything) runs for real in test/cluster/tilt-cluster.test.ts.
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
});
