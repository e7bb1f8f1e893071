import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../tools';

/** Where the thin kind and ctlptl stand-ins live (each says why it exists). */
export const standInsDir = path.join(repoRoot, 'test', 'cluster', 'stand-ins');

export interface ClusterTiltEnv {
  env: NodeJS.ProcessEnv;
  home: string;
  kubeconfig: string;
}

/**
 * Environment for real Tilt against the test node, as a developer's shell would have it
 * after `ctlptl apply`: HOME of its own (Tilt and kubectl write there), a kubeconfig with
 * the current context kind-meshloop, the stand-ins for kind and ctlptl, the tier's kubectl
 * and istioctl (.cache/bin) before the machine's, Debian's docker CLI (it has BuildKit)
 * before any other, the container tier's DOCKER_HOST, no analytics, the given TILT_PORT.
 */
export function clusterTiltEnv(options: { adminKubeconfig: string; binDir: string; dockerEnv: Record<string, string>; tiltPort: number }): ClusterTiltEnv {
  const home = mkdtempSync(path.join(os.tmpdir(), 'meshloop-cluster-home-'));
  const kubeDir = path.join(home, '.kube');
  mkdirSync(kubeDir);
  const kubeconfig = path.join(kubeDir, 'config');
  copyFileSync(options.adminKubeconfig, kubeconfig);
  const dockerDir = path.join(home, 'docker-cli');
  mkdirSync(dockerDir);
  symlinkSync(options.dockerEnv.DOCKER ?? '/usr/bin/docker', path.join(dockerDir, 'docker'));
  const PATH = [standInsDir, options.binDir, dockerDir, path.join(repoRoot, 'node_modules', '.bin'), process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter);
  return {
    home,
    kubeconfig,
    env: {
      ...process.env,
      ...options.dockerEnv,
      PATH,
      HOME: home,
      KUBECONFIG: kubeconfig,
      TILT_DISABLE_ANALYTICS: '1',
      TILT_PORT: String(options.tiltPort),
      DOCKER_BUILDKIT: '1',
    },
  };
}
