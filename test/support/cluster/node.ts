import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../tools';

/** What scripts/cluster/env.sh names; the scripts are the single source, these are read back from it. */
export interface NodeInfo {
  /** Admin kubeconfig whose context is kind-meshloop (what a kind cluster named meshloop gives). */
  kubeconfig: string;
  context: string;
  nodeName: string;
  nodeIp: string;
  /** .cache/bin: the tier's own kubectl and Kubernetes binaries. */
  binDir: string;
  /** Milliseconds from `up.sh` start to a Ready node with DNS, proxy and registry. */
  startupMs: number;
}

const scripts = path.join(repoRoot, 'scripts');
export const binDir = path.join(repoRoot, '.cache', 'bin');
export const kubectlPath = path.join(binDir, 'kubectl');

/** One value from scripts/cluster/env.sh. */
function envValue(name: string): string {
  return execFileSync('bash', ['-c', `. scripts/cluster/env.sh && printf %s "$${name}"`], { cwd: repoRoot, encoding: 'utf8' });
}

/**
 * Builds or installs what the node needs (Kubernetes, etcd and CoreDNS from their Go
 * modules, Debian's containerd/runc/CNI/registry). Cold: 20-30 min; then nothing to do.
 * Throws naming the tool when one cannot be had.
 */
export function ensureNodeTools(): void {
  for (const tool of ['node-packages', 'kubernetes', 'etcd', 'coredns']) {
    try {
      execFileSync('bash', [path.join(scripts, 'ensure-tools.sh'), tool], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60 * 60_000 });
    } catch (error) {
      throw new Error(`the real-cluster tier needs ${tool} (scripts/ensure-tools.sh ${tool} failed): ${String(error)}`, { cause: error });
    }
  }
}

/** Starts the node (scripts/cluster/up.sh). Needs root. */
export function startNode(): NodeInfo {
  const t0 = Date.now();
  // The node's lock names this process as its owner: no other run can take it over meanwhile.
  execFileSync('bash', [path.join(scripts, 'cluster', 'up.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 45 * 60_000,
    // Another run (on a shared machine) may hold the node: wait for it rather than fail.
    env: { ...process.env, MESHLOOP_CLUSTER_OWNER: String(process.pid), MESHLOOP_CLUSTER_WAIT: process.env.MESHLOOP_CLUSTER_WAIT ?? '1800' },
  });
  return {
    kubeconfig: envValue('admin_kubeconfig'),
    context: envValue('context'),
    nodeName: envValue('node_name'),
    nodeIp: envValue('node_ip'),
    binDir,
    startupMs: Date.now() - t0,
  };
}

/** Stops the node and removes everything it created (scripts/cluster/down.sh); returns its duration in ms. */
export function stopNode(): number {
  const t0 = Date.now();
  execFileSync('bash', [path.join(scripts, 'cluster', 'down.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 5 * 60_000,
    env: { ...process.env, MESHLOOP_CLUSTER_OWNER: String(process.pid) },
  });
  return Date.now() - t0;
}
