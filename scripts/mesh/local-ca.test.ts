// scripts/mesh/local-ca.sh: the local CA and localhost certificate behind
// https://localhost:8443, and the Secret the Istio gateway reads.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { afterAll, describe, expect, test } from 'vitest';
import type { IGateway } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { ofKind, validateManifest } from '../../test/support/manifests';
import { clusterObjects, parseObjects } from '../../test/support/mesh';
import { repoRoot } from '../../test/support/tools';

const script = path.join(repoRoot, 'scripts', 'mesh', 'local-ca.sh');
const work = mkdtempSync(path.join(os.tmpdir(), 'meshloop-tls-'));
const dir = path.join(work, 'tls');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[] = ['--dry-run', '--dir', dir]) {
  const result = spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const file = (name: string) => path.join(dir, name);

/** An HTTPS server with the generated certificate on a free loopback port. */
async function httpsServer(): Promise<Server> {
  const server = createServer({ key: readFileSync(file('server.key')), cert: readFileSync(file('server.crt')) }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * TLS handshake against the server, trusting only the local CA, for the name
 * `servername` (undefined: the address 127.0.0.1 itself); resolves with the
 * verification error, if any.
 */
function handshake(port: number, servername: string | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ca: readFileSync(file('ca.crt')) }, () => {
      socket.end();
      resolve(undefined);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('local-ca.sh', () => {
  test('creates a CA and a localhost certificate it signed, keys readable only by the owner, and prints the Secret', () => {
    const first = run();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('CA: creating');
    expect(first.stderr).toContain('server certificate: creating');
    expect(openssl('verify', '-CAfile', file('ca.crt'), file('server.crt')).trim()).toBe(`${file('server.crt')}: OK`);
    const server = openssl('x509', '-in', file('server.crt'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage');
    expect(server).toMatch(/DNS:localhost, IP Address:127\.0\.0\.1\s*$/m);
    expect(server).toContain('TLS Web Server Authentication');
    for (const key of ['ca.key', 'server.key']) expect(statSync(file(key)).mode & 0o777, key).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  test('the printed Secret is a valid kubernetes.io/tls Secret named as the Gateway\'s credentialName, in istio-system, holding this certificate', () => {
    const [secret, ...rest] = parseObjects(run().stdout);
    expect(rest).toEqual([]);
    expect(() => validateManifest(secret!)).not.toThrow();
    const { type, data } = secret as unknown as { type: string; data: Record<string, string> };
    expect(type).toBe('kubernetes.io/tls');
    expect(Object.keys(data).sort()).toEqual(['tls.crt', 'tls.key']);
    expect(Buffer.from(data['tls.crt']!, 'base64').toString()).toBe(readFileSync(file('server.crt'), 'utf8'));
    expect(Buffer.from(data['tls.key']!, 'base64').toString()).toBe(readFileSync(file('server.key'), 'utf8'));
    // The gateway reads credentialName Secrets from its own namespace (istio-system).
    const gateway = ofKind<IGateway>(clusterObjects().app, 'Gateway')[0]!;
    const https = gateway.spec!.servers!.find((s) => s.port?.protocol === 'HTTPS')!;
    expect(secret!.metadata).toMatchObject({ name: https.tls?.credentialName, namespace: 'istio-system' });
  });

  test('a second run keeps the CA and the certificate (a trusted CA stays trusted)', () => {
    const before = [readFileSync(file('ca.crt'), 'utf8'), readFileSync(file('server.crt'), 'utf8')];
    const again = run();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('CA: kept');
    expect(again.stderr).toContain('server certificate: kept');
    expect([readFileSync(file('ca.crt'), 'utf8'), readFileSync(file('server.crt'), 'utf8')]).toEqual(before);
  });

  test('a server certificate expiring within 30 days is renewed by the same CA', () => {
    const ca = readFileSync(file('ca.crt'), 'utf8');
    // Re-sign the current key (same request config as the script's) for 10 days only.
    openssl('req', '-new', '-key', file('server.key'), '-out', file('short.csr'), '-config', file('server.cnf'));
    openssl('x509', '-req', '-in', file('short.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-days', '10', '-extfile', file('server.cnf'), '-extensions', 'server', '-out', file('server.crt'));
    expect(openssl('verify', '-CAfile', file('ca.crt'), file('server.crt')).trim()).toMatch(/: OK$/);
    const renewed = run();
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stderr).toContain('server certificate: creating');
    expect(readFileSync(file('ca.crt'), 'utf8')).toBe(ca);
    expect(openssl('x509', '-in', file('server.crt'), '-noout', '-checkend', String(300 * 24 * 3600)).trim()).toBe('Certificate will not expire');
  });

  test('a TLS client that trusts only the local CA accepts https://localhost and https://127.0.0.1, and rejects the certificate for any other name', async () => {
    const server = await httpsServer();
    try {
      const { port } = server.address() as AddressInfo;
      expect(await handshake(port, 'localhost')).toBeUndefined();
      expect(await handshake(port, undefined)).toBeUndefined(); // https://127.0.0.1:8443
      expect(await handshake(port, 'example.com')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      server.close();
    }
  });

  test('the CA cannot sign for other names: its name constraints permit only localhost and 127.0.0.0/8', () => {
    const ext = openssl('x509', '-in', file('ca.crt'), '-noout', '-ext', 'nameConstraints,basicConstraints');
    expect(ext).toMatch(/Name Constraints: critical/);
    expect(ext).toContain('DNS:localhost');
    // A certificate for another name, signed with the CA's own key, does not verify.
    writeFileSync(file('other.cnf'), '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=example.com\n[ext]\nsubjectAltName=DNS:example.com\n');
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('other.key'), '-out', file('other.csr'), '-config', file('other.cnf'));
    openssl('x509', '-req', '-in', file('other.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-out', file('other.crt'), '-days', '1', '-extfile', file('other.cnf'), '-extensions', 'ext');
    const verify = spawnSync('openssl', ['verify', '-CAfile', file('ca.crt'), file('other.crt')], { encoding: 'utf8' });
    expect(verify.status).not.toBe(0);
    expect(verify.stdout + verify.stderr).toMatch(/permitted subtree violation/);
  });

  test('without --dry-run the Secret goes to `kubectl --context <ctx> apply -f -`', () => {
    const fake = mkdtempSync(path.join(os.tmpdir(), 'meshloop-fake-kubectl-'));
    try {
      writeFileSync(path.join(fake, 'kubectl'), `#!/bin/sh\necho "$*" > "${fake}/args"\ncat > "${fake}/stdin"\necho secret/meshloop-tls configured\n`, { mode: 0o755 });
      const result = spawnSync('bash', [script, '--dir', dir, '--context', 'kind-meshloop'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${fake}${path.delimiter}${process.env.PATH}` },
      });
      expect(result.status, result.stderr).toBe(0);
      expect(readFileSync(path.join(fake, 'args'), 'utf8').trim()).toBe('--context kind-meshloop apply -f -');
      expect(parseObjects(readFileSync(path.join(fake, 'stdin'), 'utf8')).map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
        'Secret istio-system/meshloop-tls',
      ]);
      expect(result.stdout).toContain('secret/meshloop-tls configured');
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
