// Global setup of the real-cluster tier (vitest project "cluster" only, so the rest of
// the suite never pays for it): builds or finds the tools, builds the images Tilt does
// not push, starts the node, loads those images into it, and stops the node after the
// last test file of the tier. The test files get the node through inject('cluster').
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildClusterImages, dockerEngineEnv, loadImages } from '../support/cluster/images';
import { ensureNodeTools, startNode, stopNode, type NodeInfo } from '../support/cluster/node';
import { repoRoot } from '../support/tools';

export interface ClusterContext extends NodeInfo {
  dockerEnv: Record<string, string>;
  /** Images loaded straight into the node (not pushed by Tilt). */
  images: string[];
  /** Milliseconds spent building/loading those images (not part of the node's start-up). */
  imagesMs: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterContext;
  }
}

export default function setup(project: TestProject): () => void {
  ensureNodeTools();
  // Tilt and istioctl are needed by every file of the tier; build them before the node starts.
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'ensure-tools.sh'), 'tilt', 'istioctl'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 60 * 60_000 });
  const dockerEnv = dockerEngineEnv();
  const t0 = Date.now();
  const images = buildClusterImages(dockerEnv);
  const buildMs = Date.now() - t0;
  let node: NodeInfo;
  try {
    node = startNode();
  } catch (error) {
    try {
      stopNode(); // what up.sh started before it failed (refuses a node another run owns)
    } catch (stopError) {
      console.error(String(stopError));
    }
    throw error;
  }
  try {
    const t1 = Date.now();
    loadImages(images, dockerEnv);
    project.provide('cluster', { ...node, dockerEnv, images, imagesMs: buildMs + (Date.now() - t1) });
  } catch (error) {
    stopNode();
    throw error;
  }
  return () => {
    const ms = stopNode();
    console.log(`[cluster] node stopped and removed in ${ms} ms`);
  };
}
