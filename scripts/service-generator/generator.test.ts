// Unit tests of the generator's parts against the repository as it is (read only):
// argument parsing, validation, port picking, the plan and the removal plan.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { conflicts, dryRunReport, writeChanges } from './apply';
import { run } from './cli';
import { buildPlan, examplePathOf, retargetScripts, type FileChange } from './plan';
import { planRemoval } from './remove';
import { parseNewServiceArgs, pickPorts, UsageError, validateRequest, type NewServiceRequest } from './validate';
import { readMeshServices } from './workspace';

const root = path.resolve(__dirname, '..', '..');
const services = readMeshServices(root);
const request = (overrides: Partial<NewServiceRequest> = {}): NewServiceRequest => ({ name: 'greeter', port: undefined, calls: [], calledBy: [], dryRun: false, ...overrides });
const created = (changes: FileChange[], file: string) => {
  const change = changes.find((c) => c.path === file);
  if (change?.action !== 'create') throw new Error(`${file} is not created`);
  return change.content;
};
const objects = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });

describe('arguments', () => {
  it('reads the name, port, repeated or comma-separated lists and --dry-run', () => {
    expect(parseNewServiceArgs(['greeter', '--port', '8090', '--calls', 'a,b', '--calls=c', '--called-by', 'frontend', '--dry-run'])).toEqual({
      name: 'greeter',
      port: 8090,
      calls: ['a', 'b', 'c'],
      calledBy: ['frontend'],
      dryRun: true,
    });
  });

  it.each([
    [[], /no service name given/],
    [['a', 'b'], /one service name expected/],
    [['a', '--port'], /--port needs a value/],
    [['a', '--port', '80x'], /--port must be a whole number/],
    [['a', '--colour', 'red'], /unknown option --colour/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseNewServiceArgs(argv)).toThrow(UsageError);
    expect(() => parseNewServiceArgs(argv)).toThrow(message);
  });
});

describe('validation', () => {
  it('accepts a new name with known calls and callers', () => {
    expect(validateRequest(root, request({ calls: ['business-logic'], calledBy: ['frontend'] }), services)).toEqual([]);
  });

  it.each<[Partial<NewServiceRequest>, RegExp]>([
    [{ name: 'Greeter' }, /invalid name/],
    [{ name: '9lives' }, /invalid name/],
    [{ name: 'a--b' }, /invalid name/],
    [{ name: 'trailing-' }, /invalid name/],
    [{ name: 'x'.repeat(31) }, /invalid name/],
    [{ name: 'frontend' }, /already exists/],
    [{ name: 'service-runtime' }, /reserved/],
    [{ name: 'grafana' }, /reserved/],
    [{ name: 'greeter-v2' }, /reserved/],
    [{ port: 9465 }, /already used \(business-logic's metricsPort\)/],
    [{ port: 9229 }, /already used \(frontend's debugPort\)/],
    [{ port: 15020 }, /reserved by the platform/],
    [{ port: 80 }, /unprivileged/],
    [{ calls: ['billing'] }, /--calls billing: no such service/],
    [{ calls: ['greeter'] }, /cannot call itself/],
    [{ calls: ['frontend'], calledBy: ['frontend'] }, /cycle/],
  ])('refuses %j', (overrides, message) => {
    expect(validateRequest(root, request(overrides), services)).toEqual([expect.stringMatching(message)]);
  });

  it('picks the first free port, metrics port and debug port, unique across services and clear of the platform', () => {
    expect(pickPorts(request(), services)).toEqual({ port: 8082, metricsPort: 9466, debugPort: 9231 });
    expect(pickPorts(request({ port: 9466 }), services)).toEqual({ port: 9466, metricsPort: 9467, debugPort: 9231 });
  });
});

describe('plan', () => {
  const plan = buildPlan(root, request({ calls: ['business-logic'], calledBy: ['frontend'] }), services);

  it("copies the template service's scripts and devDependencies, and writes the meshloop block", () => {
    const pkg = JSON.parse(created(plan.changes, 'services/greeter/package.json')) as Record<string, unknown>;
    const frontend = services.find((s) => s.name === 'frontend')!;
    expect(frontend).toBeDefined();
    expect(pkg).toMatchObject({ name: '@meshloop/greeter', private: true, meshloop: { port: 8082, metricsPort: 9466, debugPort: 9231, calls: ['business-logic'] } });
    expect((pkg.scripts as Record<string, string>).dev).toMatch(/^tsx watch /);
    expect((pkg.scripts as Record<string, string>).build).toBe('tsc -b');
    // Its own unit tests, never the template's (the <name>-tests Tilt resource runs this).
    expect((pkg.scripts as Record<string, string>).test).toBe('vitest run --root ../.. --project main services/greeter/test');
  });

  it("moves the template's own port numbers in its scripts to the new service's (an inspector default, say)", () => {
    const scripts = { dev: 'tsx watch --inspect=127.0.0.1:${DEBUG_PORT:-9229} src/server.ts', start: 'node dist/server.js --metrics 9464 --retries 3 --x 92290' };
    expect(retargetScripts(scripts, { port: 8080, metricsPort: 9464, debugPort: 9229 }, { port: 8082, metricsPort: 9466, debugPort: 9231 })).toEqual({
      dev: 'tsx watch --inspect=127.0.0.1:${DEBUG_PORT:-9231} src/server.ts',
      start: 'node dist/server.js --metrics 9466 --retries 3 --x 92290',
    });
  });

  it('the mesh file allows exactly the callers, adds the allow rule at the callee, the PERMISSIVE metrics port, a NetworkPolicy and routes', () => {
    const mesh = objects(created(plan.changes, 'istio/mesh/greeter.yaml'));
    expect(mesh.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'PeerAuthentication/greeter-metrics',
      'AuthorizationPolicy/greeter-metrics-from-prometheus',
      'AuthorizationPolicy/greeter-from-callers',
      'AuthorizationPolicy/business-logic-from-greeter',
      'NetworkPolicy/greeter-ingress',
      'DestinationRule/greeter',
      'VirtualService/greeter',
    ]);
    expect(mesh[2]!.spec).toMatchObject({
      selector: { matchLabels: { app: 'greeter' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/meshloop/sa/frontend'] } }], to: [{ operation: { ports: ['8082'] } }] }],
    });
    expect(mesh[3]!.spec).toMatchObject({
      selector: { matchLabels: { app: 'business-logic' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/meshloop/sa/greeter'] } }], to: [{ operation: { ports: ['8081'] } }] }],
    });
    expect(mesh[0]!.spec).toEqual({ selector: { matchLabels: { app: 'greeter' } }, portLevelMtls: { 9466: { mode: 'PERMISSIVE' } } });
  });

  it('without callers there is no caller policy: the default deny keeps the HTTP port closed', () => {
    const alone = buildPlan(root, request(), services);
    const names = objects(created(alone.changes, 'istio/mesh/greeter.yaml')).map((o) => o.metadata.name);
    expect(names).not.toContain('greeter-from-callers');
    expect(alone.changes.map((c) => c.path)).not.toContain('services/greeter/src/downstream-client.ts');
  });

  it('edits package.json, the caller\'s package.json and manifest, and nothing else that exists', () => {
    expect(plan.changes.filter((c) => c.action === 'edit').map((c) => c.path)).toEqual(['package.json', 'services/frontend/package.json', 'k8s/frontend.yaml']);
    const manifest = plan.changes.find((c) => c.path === 'k8s/frontend.yaml');
    if (manifest?.action !== 'edit') throw new Error('k8s/frontend.yaml is not edited');
    const lines = '            - name: GREETER_URL\n              value: http://greeter.meshloop.svc.cluster.local:8082\n';
    expect(manifest.after).toContain(`${lines}            - name: OTEL_SERVICE_NAME`);
    expect(manifest.after.replace(lines, '')).toBe(manifest.before);
    expect(conflicts(root, plan.changes)).toEqual([]);
  });

  it('the example route calls the callee\'s first GET route', () => {
    expect(examplePathOf(root, services.find((s) => s.name === 'business-logic')!)).toBe('/fast');
    expect(created(plan.changes, 'services/greeter/src/app.ts')).toContain("businessLogic.get('/fast'");
  });

  it('the dry run shows every file and edit', () => {
    const report = dryRunReport(plan);
    expect(report).toContain('nothing written');
    for (const change of plan.changes) expect(report).toContain(change.path);
  });
});

describe('removal', () => {
  it('refuses a service the generator did not make, and an unknown one', () => {
    expect(() => planRemoval(root, 'business-logic')).toThrow(/not made by new-service/);
    expect(() => planRemoval(root, 'billing')).toThrow(/no service "billing"/);
  });

  it('refuses to remove a generated service another generated service calls, and undoes a plan exactly otherwise', () => {
    // A scratch copy of the files the generator reads and edits (no npm here: the lock is the end-to-end test's).
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'meshloop-generator-'));
    try {
      for (const p of ['package.json', 'services/frontend', 'services/business-logic', 'services/service-runtime/package.json', 'k8s/frontend.yaml', 'k8s/business-logic.yaml']) {
        mkdirSync(path.dirname(path.join(scratch, p)), { recursive: true });
        cpSync(path.join(root, p), path.join(scratch, p), { recursive: true });
      }
      const snapshot = () => JSON.stringify(['package.json', 'services/frontend/package.json', 'k8s/frontend.yaml'].map((f) => readFileSync(path.join(scratch, f), 'utf8')));
      const before = snapshot();
      writeChanges(scratch, buildPlan(scratch, request({ calledBy: ['frontend'] }), readMeshServices(scratch)).changes);
      writeChanges(scratch, buildPlan(scratch, request({ name: 'relay', calls: ['greeter'] }), readMeshServices(scratch)).changes);
      expect(() => planRemoval(scratch, 'greeter')).toThrow(/relay call greeter \(generated with --calls greeter\): remove them first/);
      const relayFiles = () => JSON.stringify([readFileSync(path.join(scratch, 'package.json'), 'utf8'), existsSync(path.join(scratch, 'services/relay')), existsSync(path.join(scratch, 'k8s/relay.yaml'))]);
      const generated = relayFiles();
      const printed: string[] = [];
      expect(run('remove', ['relay', '--dry-run'], scratch, (l) => printed.push(l), (l) => printed.push(l)), printed.join('\n')).toBe(0);
      expect(printed.join('\n')).toMatch(/^remove-service relay \(dry run, nothing changed\):\n {2}delete +services\/relay/);
      expect(printed.join('\n')).toContain('k8s/relay.yaml');
      expect(relayFiles()).toBe(generated);
      expect(run('remove', ['relay', '--dry-run', '--force'], scratch, () => undefined, (l) => printed.push(l))).toBe(1);
      writeChanges(scratch, planRemoval(scratch, 'relay'));
      writeChanges(scratch, planRemoval(scratch, 'greeter'));
      expect(snapshot()).toBe(before);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
