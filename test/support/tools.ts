import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Repository root (this file lives in test/support). */
export const repoRoot = path.resolve(__dirname, '..', '..');

export type ToolName = 'tilt' | 'jaeger' | 'prometheus' | 'promtool' | 'chromium' | 'istioctl' | 'pilot-discovery' | 'istio-iptables';

/** Which ensure-tools.sh target provides each tool. */
const provider: Record<ToolName, string> = {
  tilt: 'tilt',
  jaeger: 'jaeger',
  prometheus: 'prometheus',
  promtool: 'prometheus',
  chromium: 'chromium',
  istioctl: 'istioctl',
  'pilot-discovery': 'pilot-discovery',
  'istio-iptables': 'istio-iptables',
};

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * File names that differ from the tool name: Prometheus 3 is built as prometheus3 and
 * promtool3 (scripts/tools/prometheus3.sh), so that Debian's 2.x `prometheus` is never taken.
 */
const fileName: Partial<Record<ToolName, string>> = { prometheus: 'prometheus3', promtool: 'promtool3' };

function find(tool: ToolName): string | undefined {
  const name = fileName[tool] ?? tool;
  const cached = path.join(repoRoot, '.cache', 'bin', name);
  if (existsSync(cached)) return cached;
  return onPath(name) ?? (existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : undefined);
}

/**
 * Absolute path of a real tool the tests run. Found in .cache/bin or on PATH,
 * else installed or built by scripts/ensure-tools.sh; never skipped: when that
 * is impossible this throws an error that names the tool.
 */
export function toolPath(name: ToolName): string {
  const found = find(name);
  if (found) return found;
  try {
    execFileSync('bash', [path.join(repoRoot, 'scripts', 'ensure-tools.sh'), provider[name]], {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 30 * 60_000,
    });
  } catch (error) {
    throw new Error(`${name} is required by this test and could not be installed or built: ${String(error)}`, { cause: error });
  }
  const installed = find(name);
  if (!installed) throw new Error(`${name} is required by this test but was not found after scripts/ensure-tools.sh ${provider[name]}`);
  return installed;
}
