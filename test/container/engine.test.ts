// The container tier's own Docker engine (scripts/container/docker-engine.sh):
// Debian's dockerd with its own data root and socket, reused when running,
// and with every image registry but localhost:5005 unreachable, so a missing
// image fails at once instead of leaving the machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { docker, dockerAsync, ensureBaseImages, ensureDockerEngine } from '../support/docker';
import { repoRoot } from '../support/tools';

function dockerdPid(): number {
  return Number(readFileSync('/run/meshloop-docker/dockerd.pid', 'utf8').trim());
}

describe('the container tier engine', () => {
  it("is Debian's dockerd 20.10 on its own socket and data root, driven by Debian's CLI with BuildKit", () => {
    const engine = ensureDockerEngine();
    expect(engine.host).toBe('unix:///run/meshloop-docker/docker.sock');
    expect(engine.cli).toBe('/usr/bin/docker');
    expect(engine.env.DOCKER_BUILDKIT).toBe('1');
    expect(docker(['version', '--format', '{{.Server.Version}}'])).toMatch(/^20\.10\./);
    expect(docker(['info', '--format', '{{.DockerRootDir}}'])).toBe('/var/lib/meshloop-docker');
  });

  it('start reuses the running dockerd instead of starting a second one', () => {
    ensureDockerEngine();
    const before = dockerdPid();
    const out = execFileSync('bash', [path.join(repoRoot, 'scripts/container/docker-engine.sh'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('DOCKER_HOST=unix:///run/meshloop-docker/docker.sock');
    expect(dockerdPid()).toBe(before);
  });

  it.each(['docker.io/library/busybox:latest', 'quay.io/prometheus/busybox:latest', 'gcr.io/distroless/static:latest'])(
    'a pull of %s fails within seconds at the dead local proxy, without leaving the machine',
    async (image) => {
      ensureDockerEngine();
      const started = Date.now();
      const result = await dockerAsync(['pull', image], { timeoutMs: 30_000 });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/127\.0\.0\.1:9\b.*connection refused/);
      expect(Date.now() - started).toBeLessThan(10_000);
    },
  );

  it('the base images are built locally and labelled with the hash of their inputs; a second run rebuilds nothing', () => {
    ensureBaseImages();
    const label = (image: string) => docker(['image', 'inspect', '--format', '{{ index .Config.Labels "meshloop.inputs" }}', image]);
    const before = ['meshloop.local/debian:bookworm-minbase', 'node:22-bookworm-slim'].map((image) => [label(image), docker(['image', 'inspect', '--format', '{{.Id}}', image])]);
    for (const [hash] of before) expect(hash).toMatch(/^[0-9a-f]{16}$/);
    const { env } = ensureDockerEngine();
    const run = spawnSync('bash', [path.join(repoRoot, 'scripts/container/base-images.sh')], { env, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('meshloop.local/debian:bookworm-minbase: up to date');
    expect(run.stderr).toContain('node:22-bookworm-slim: up to date');
    const after = ['meshloop.local/debian:bookworm-minbase', 'node:22-bookworm-slim'].map((image) => [label(image), docker(['image', 'inspect', '--format', '{{.Id}}', image])]);
    expect(after).toEqual(before);
    // Node 22 (the major services/Dockerfile names), npm, user node 1000, the host's CA bundle for npm.
    const check = docker(['run', '--rm', 'node:22-bookworm-slim', 'sh', '-c', 'node --version; npm --version; id -u node; id -g node; test -s "$NODE_EXTRA_CA_CERTS" && echo ca-ok']);
    const [node, npm, uid, gid, ca] = check.split('\n');
    expect(node).toMatch(/^v22\./);
    expect(npm).toMatch(/^\d+\.\d+\.\d+$/);
    expect([uid, gid, ca]).toEqual(['1000', '1000', 'ca-ok']);
  });
});
