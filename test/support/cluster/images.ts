import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../tools';

const scripts = path.join(repoRoot, 'scripts');

/** Client settings of the container tier's Docker engine (DOCKER_HOST, DOCKER_BUILDKIT, DOCKER). */
export function dockerEngineEnv(): Record<string, string> {
  execFileSync('bash', [path.join(scripts, 'ensure-tools.sh'), 'docker'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000 });
  const out = execFileSync('bash', [path.join(scripts, 'container', 'docker-engine.sh'), 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 5 * 60_000,
  });
  const env: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2];
  }
  if (!env.DOCKER_HOST) throw new Error(`scripts/container/docker-engine.sh start printed no DOCKER_HOST: ${out}`);
  return env;
}

/** Runs an image-building script; returns the images it printed ("<image> <id> <size>" lines). */
function builtImages(script: string, dockerEnv: Record<string, string>): string[] {
  const out = execFileSync('bash', [path.join(scripts, script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...dockerEnv },
    timeout: 60 * 60_000,
  });
  const images = out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((image) => image.includes(':'));
  if (images.length === 0) throw new Error(`${script} built no image: ${out}`);
  return images;
}

/**
 * The images that Tilt does not push but the cluster runs: Istio's (istiod for real,
 * the proxyv2 stand-in) and the add-ons that can be built here (Jaeger, Prometheus),
 * built in the container tier's engine (base images first). Returns the image names.
 */
export function buildClusterImages(dockerEnv: Record<string, string>): string[] {
  execFileSync('bash', [path.join(scripts, 'container', 'base-images.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...dockerEnv },
    timeout: 30 * 60_000,
  });
  return [...builtImages('cluster/istio-images.sh', dockerEnv), ...builtImages('cluster/addon-images.sh', dockerEnv)];
}

/** Loads images from the container tier's engine into the running node's containerd, like `kind load`. */
export function loadImages(images: string[], dockerEnv: Record<string, string>): void {
  execFileSync('bash', [path.join(scripts, 'cluster', 'load-images.sh'), ...images], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...dockerEnv },
    timeout: 10 * 60_000,
  });
}
