// Cluster mode, PostgreSQL: what the Tiltfile deploys (tilt alpha tiltfile-result),
// and the Secret script's dry run (password made once, never committed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tiltfileResult, type TiltfileResult } from './support/tilt';
import { repoRoot } from './support/tools';

const objectsOf = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string; annotations?: Record<string, string> } });

describe('Tiltfile, cluster mode: PostgreSQL', () => {
  let result: TiltfileResult;
  let keep: TiltfileResult;
  beforeAll(async () => {
    [result, keep] = await Promise.all([tiltfileResult(), tiltfileResult({ args: ['--keep-data'] })]);
  }, 120_000);

  it('deploys k8s/postgres.yaml as resource `postgres` (label data) after the mesh and its Secret', () => {
    const postgres = result.resource('postgres');
    expect(postgres.labels).toEqual(['data']);
    expect(postgres.resourceDeps.sort()).toEqual(['istio', 'mesh-config', 'namespace', 'postgres-secret']);
    expect(objectsOf(postgres.yaml).map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/postgres',
      'PersistentVolumeClaim/postgres-data',
      'Service/postgres',
      'ServiceAccount/postgres',
    ]);
    expect(postgres.portForwards).toEqual([]);
  });

  it('the Secret comes from scripts/data/postgres-secret.sh, a local resource (label data) run against the project context', () => {
    const secret = result.resource('postgres-secret');
    expect(secret.kind).toBe('local_resource');
    expect(secret.labels).toEqual(['data']);
    expect(secret.updateCmd?.join(' ')).toContain("bash scripts/data/postgres-secret.sh --context 'kind-meshloop'");
  });

  it('business-logic and its v2 canary wait for postgres', () => {
    expect(result.resource('business-logic').resourceDeps).toContain('postgres');
    expect(result.resource('business-logic-v2').resourceDeps).toContain('postgres');
  });

  it('plain `tilt down` deletes the volume claim and the namespace; `-- --keep-data` keeps both (tilt.dev/down-policy: keep)', () => {
    const claim = (r: TiltfileResult) => objectsOf(r.resource('postgres').yaml).find((o) => o.kind === 'PersistentVolumeClaim');
    expect(claim(result)?.metadata.annotations?.['tilt.dev/down-policy']).toBeUndefined();
    expect(claim(keep)?.metadata.annotations?.['tilt.dev/down-policy']).toBe('keep');
    expect(result.resource('namespace').deleteCmd?.join(' ')).toContain('kubectl delete -f k8s/namespace.yaml');
    // Deleting the namespace would delete the claim in it.
    expect(keep.resource('namespace').deleteCmd?.join(' ')).not.toContain('kubectl delete');
  });
});

describe('scripts/data/postgres-secret.sh --dry-run', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'meshloop-pg-secret-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = () => execFileSync('bash', [path.join(repoRoot, 'scripts', 'data', 'postgres-secret.sh'), '--dir', dir, '--dry-run'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('makes the password once (hex, 0600 in a 0700 folder) and prints the Secret meshloop/postgres-credentials with it', () => {
    const first = objectsOf(run())[0] as unknown as { kind: string; metadata: { name: string; namespace: string }; data: { password: string } };
    expect(first.kind).toBe('Secret');
    expect(first.metadata).toMatchObject({ name: 'postgres-credentials', namespace: 'meshloop' });
    const password = readFileSync(path.join(dir, 'password'), 'utf8');
    expect(password).toMatch(/^[0-9a-f]{36}$/);
    expect(Buffer.from(first.data.password, 'base64').toString()).toBe(password);
    expect(execFileSync('stat', ['-c', '%a', path.join(dir, 'password')], { encoding: 'utf8' }).trim()).toBe('600');
    expect(execFileSync('stat', ['-c', '%a', dir], { encoding: 'utf8' }).trim()).toBe('700');
    const second = objectsOf(run())[0] as unknown as { data: { password: string } };
    expect(second.data.password).toBe(first.data.password);
  });

  it('the password folder is git-ignored (.cache/)', () => {
    expect(execFileSync('git', ['check-ignore', '.cache/postgres-cluster/password'], { cwd: repoRoot, encoding: 'utf8' }).trim()).toBe('.cache/postgres-cluster/password');
  });
});
