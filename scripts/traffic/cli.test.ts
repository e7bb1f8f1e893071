import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

/** Runs the real entry point the way `npm run traffic -- ...` does. */
function traffic(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, [path.join(root, 'scripts', 'traffic.ts'), ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

let server: http.Server;
let target = '';
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end('{"service":"frontend"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('npm run traffic (scripts/traffic.ts)', () => {
  it('prints the summary and exits 0 after a successful run', async () => {
    const run = await traffic(['--profile', 'slow', '--rate', '20', '--duration', '1', '--max-requests', '5', '--target', target]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`traffic summary: profile=slow target=${target}`);
    expect(run.stdout).toContain('requests sent: 5');
    expect(run.stdout).toContain('status codes: 200=5');
    expect(run.stdout).toContain('failures: 0');
    expect(run.stdout).toMatch(/latency ms: p50=\d+\.\d p95=\d+\.\d p99=\d+\.\d/);
    expect(seen.filter((p) => p === '/api/slow')).toHaveLength(5);
  }, 60_000);

  it('exits non-zero with a message naming the URL when the target is unreachable', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));

    const run = await traffic(['--profile', 'fast', '--rate', '5', '--duration', '20', '--target', closed]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: cannot reach ${closed} (ECONNREFUSED)`);
  }, 60_000);

  it('exits 2 with the usage text on a bad argument', async () => {
    const run = await traffic(['--rate', '1000']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('traffic: --rate must be a number greater than 0 and at most 200');
    expect(run.stderr).toContain('Usage: npm run traffic -- [options]');
  }, 60_000);
});
