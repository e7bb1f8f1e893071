// PostgreSQL on the real-cluster tier's node, deployed by real Tilt from the real
// Tiltfile: the `postgres` resource (k8s/postgres.yaml unchanged) runs the image
// scripts/cluster/addon-images.sh builds as a stand-in for the official one (Debian's
// postgresql-15, loaded into the node by test/cluster/setup.ts); its claim is bound by
// the tier's stand-in for kind's local-path provisioner (scripts/cluster/pv-provisioner.sh).
// business-logic (v1) stores /slow results there and reads them back, also after the
// database pod was deleted and recreated. The proxy sidecar is a stand-in here (no
// interception: scripts/cluster/istio-images.sh), so mTLS and the AuthorizationPolicy on
// 5432 are not exercised on this node; test/mesh-security.test.ts checks them statically.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl, kubectlJson, podsOf, type Kube } from '../support/cluster/kube';
import { clusterTiltEnv, type ClusterTiltEnv } from '../support/cluster/tilt-env';
import { freePort, waitFor } from '../support/ports';
import { missingWebAssetsHint, runTilt } from '../support/tilt';

const cluster = inject('cluster');
const kube: Kube = { kubeconfig: cluster.kubeconfig };
/** business-logic and what it depends on (Tilt enables a resource's dependencies too). */
const RESOURCES = ['business-logic'];

interface Claim {
  metadata: { name: string };
  spec: { storageClassName?: string; volumeName?: string };
  status: { phase?: string };
}

/** GET on business-logic's own port from inside its pod (the app's port is not exposed to the test otherwise). */
async function insideBusinessLogic(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const [pod] = await podsOf(kube, 'meshloop', 'business-logic');
  if (!pod) throw new Error('no running business-logic pod');
  const script = `fetch('http://127.0.0.1:8081${path}',{signal:AbortSignal.timeout(8000)}).then(async r=>console.log(JSON.stringify({status:r.status,body:await r.json()}))).catch(e=>{console.error(String(e));process.exit(1)})`;
  const out = await kubectl(kube, ['-n', 'meshloop', 'exec', pod.metadata.name, '-c', 'business-logic', '--', 'node', '-e', script], 30_000);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { status: number; body: Record<string, unknown> };
}

describe('PostgreSQL in the cluster, run by real Tilt on the real node', () => {
  let tilt: ClusterTiltEnv;
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    const port = await freePort();
    tilt = clusterTiltEnv({ adminKubeconfig: cluster.kubeconfig, binDir: cluster.binDir, dockerEnv: cluster.dockerEnv, tiltPort: port });
    const t0 = Date.now();
    const ci = await runTilt(['ci', '--port', String(port), '--', ...RESOURCES], tilt.env, 25 * 60_000);
    figures.tiltCiMs = Date.now() - t0;
    const output = ci.stdout + ci.stderr;
    expect(ci.code, `tilt ci failed${missingWebAssetsHint(output)}\n${output.slice(-6000)}`).toBe(0);
  }, 30 * 60_000);

  afterAll(async () => {
    console.log(`[postgres] figures: ${JSON.stringify(figures)}`);
    if (!tilt) return;
    const down = await runTilt(['down', '--', ...RESOURCES], tilt.env, 10 * 60_000);
    rmSync(tilt.home, { recursive: true, force: true });
    // The tier's other files start from an empty node: a failed tilt down fails this file.
    expect(down.code, `tilt down failed: ${down.stdout}${down.stderr}`).toBe(0);
    // tilt down deletes the claim; the stand-in provisioner then deletes its volume.
    await waitFor('the postgres volume gone', async () => {
      const pvs = await kubectlJson<{ items: Array<{ spec: { claimRef?: { name?: string } } }> }>(kube, ['get', 'pv']);
      return pvs.items.some((pv) => pv.spec.claimRef?.name === 'postgres-data') ? undefined : true;
    }, 60_000, 1000);
  }, 11 * 60_000);

  it('the postgres pod runs the stand-in image built here, ready, its claim bound to a volume of the default class', async () => {
    const [pod] = await podsOf(kube, 'meshloop', 'postgres');
    expect(pod, 'a running postgres pod').toBeDefined();
    const status = pod!.status.containerStatuses?.find((c) => c.name === 'postgres');
    expect(status?.ready).toBe(true);
    expect(cluster.images).toContain('docker.io/library/postgres:15.18-bookworm');
    const claim = await kubectlJson<Claim>(kube, ['-n', 'meshloop', 'get', 'pvc', 'postgres-data']);
    expect(claim.status.phase).toBe('Bound');
    expect(claim.spec.storageClassName).toBe('standard');
    // The sidecar was injected (the namespace is in the mesh).
    const spec = await kubectlJson<{ spec: { containers: Array<{ name: string }>; initContainers?: Array<{ name: string }> } }>(kube, ['-n', 'meshloop', 'get', 'pod', pod!.metadata.name]);
    expect([...spec.spec.containers, ...(spec.spec.initContainers ?? [])].map((c) => c.name)).toContain('istio-proxy');
  });

  it('business-logic reaches it: /readyz reports postgres ready, /slow stores, /history reads back', async () => {
    const ready = await waitFor('business-logic storage ready', async () => {
      const { body } = await insideBusinessLogic('/readyz');
      return (body.dependencies as { postgres?: string } | undefined)?.postgres === 'ready' ? body : undefined;
    }, 120_000, 2000);
    expect(ready.status).toBe('ready');
    const slow = await insideBusinessLogic('/slow?delayMs=1');
    expect(slow.status).toBe(200);
    expect(slow.body).toMatchObject({ stored: true });
    const history = await insideBusinessLogic('/history?limit=5');
    expect(history.status).toBe(200);
    expect((history.body.results as Array<{ id: number }>).map((r) => r.id)).toContain(slow.body.resultId);
  }, 180_000);

  it('when the postgres pod is deleted, the data survives on the volume and business-logic recovers by itself', async () => {
    const before = await insideBusinessLogic('/slow?delayMs=1');
    expect(before.body).toMatchObject({ stored: true });
    const [old] = await podsOf(kube, 'meshloop', 'postgres');
    const t0 = Date.now();
    await kubectl(kube, ['-n', 'meshloop', 'delete', 'pod', old!.metadata.name, '--wait=false']);
    const history = await waitFor('/history answers 200 from the new postgres pod', async () => {
      const [pod] = await podsOf(kube, 'meshloop', 'postgres');
      if (!pod || pod.metadata.name === old!.metadata.name) return undefined;
      const answer = await insideBusinessLogic('/history?limit=20');
      return answer.status === 200 ? answer : undefined;
    }, 180_000, 1000);
    figures.recoveryAfterPodDeleteMs = Date.now() - t0;
    expect((history.body.results as Array<{ id: number }>).map((r) => r.id)).toContain(before.body.resultId);
    // business-logic itself kept running: the pool reconnected, no restart.
    const [businessLogic] = await podsOf(kube, 'meshloop', 'business-logic');
    expect(businessLogic?.status.containerStatuses?.find((c) => c.name === 'business-logic')?.restartCount).toBe(0);
  }, 240_000);
});
