import { execFile } from 'node:child_process';
import { kubectlPath } from './node';

export interface Kube {
  kubeconfig: string;
}

/** Runs the tier's kubectl against the node; rejects with its stderr on failure. */
export function kubectl(kube: Kube, args: string[], timeoutMs = 60_000, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectlPath,
      ['--kubeconfig', kube.kubeconfig, ...args],
      { timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || String(error)}`, { cause: error }));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `kubectl get ... -o json`, parsed. */
export async function kubectlJson<T>(kube: Kube, args: string[], timeoutMs = 60_000): Promise<T> {
  return JSON.parse(await kubectl(kube, [...args, '-o', 'json'], timeoutMs)) as T;
}

export interface PodList {
  items: {
    metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
    status: { phase?: string; podIP?: string; containerStatuses?: { name: string; restartCount: number; ready: boolean; image: string }[] };
  }[];
}

/** Running pods of an app label in a namespace. */
export async function podsOf(kube: Kube, namespace: string, app: string): Promise<PodList['items']> {
  const list = await kubectlJson<PodList>(kube, ['-n', namespace, 'get', 'pods', '-l', `app=${app}`]);
  return list.items.filter((p) => p.status.phase === 'Running');
}
