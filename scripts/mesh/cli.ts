// Behind the Tilt buttons "Canary weight", "Faults" and "Reset mesh" (istio/Tiltfile):
//   tsx scripts/mesh/cli.ts canary --weight 10 [--context kind-meshloop] [--dry-run]
//   tsx scripts/mesh/cli.ts faults --delay-percent 10 --delay-seconds 2 --abort-percent 0 --abort-status 503
//   tsx scripts/mesh/cli.ts reset
// Renders istio/mesh/business-logic-routes.yaml with the new weights or faults
// (scripts/mesh/routes.ts), prints what changes compared with the live
// VirtualService, and applies it with `kubectl apply -f -`. A button changes
// one setting and keeps the other as it is live (faults survive a weight
// change). --dry-run prints the YAML instead and never calls kubectl.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  NAMESPACE,
  VIRTUAL_SERVICE,
  loadRoutes,
  readState,
  setCanaryWeight,
  setFaults,
  summarize,
  toYaml,
  validateFaults,
  validateWeight,
  virtualService,
  type Faults,
  type RouteState,
  type VirtualServiceLike,
} from './routes';

export const USAGE = `usage: mesh <command> [--context <kube context>] [--dry-run]
  canary --weight <0-100>                  percent of business-logic traffic to v2 (x-canary: always always goes to v2)
  faults --delay-percent <0-100> --delay-seconds <s> --abort-percent <0-100> --abort-status <200-599>
                                           Istio fault injection on business-logic (both percentages 0: no faults)
  reset                                    back to the committed istio/mesh/business-logic-routes.yaml`;

class UsageError extends Error {}

const repoRoot = path.resolve(__dirname, '..', '..');

function number(name: string, value: string | undefined): number {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required`);
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new UsageError(`--${name} must be a number, got '${value}'`);
  return parsed;
}

function kubectl(context: string | undefined, args: string[], input?: string) {
  const full = [...(context ? ['--context', context] : []), ...args];
  return spawnSync('kubectl', full, { input, encoding: 'utf8', timeout: 60_000 });
}

/** Weights and faults as they are in the cluster, or undefined (with the reason printed) when they cannot be read. */
function liveState(context: string | undefined): RouteState | undefined {
  const result = kubectl(context, ['-n', NAMESPACE, 'get', 'virtualservice', VIRTUAL_SERVICE, '-o', 'json']);
  if (result.status !== 0) {
    const reason = (result.error?.message ?? result.stderr ?? '').trim().split('\n')[0];
    console.log(`(could not read the live VirtualService: ${reason}; comparing with the committed defaults)`);
    return undefined;
  }
  try {
    return readState(JSON.parse(result.stdout) as VirtualServiceLike);
  } catch (error) {
    console.log(`(the live VirtualService is not what ${path.basename(__filename)} expects: ${String(error)}; comparing with the committed defaults)`);
    return undefined;
  }
}

export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        weight: { type: 'string' },
        'delay-percent': { type: 'string' },
        'delay-seconds': { type: 'string' },
        'abort-percent': { type: 'string' },
        'abort-status': { type: 'string' },
        context: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`mesh: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const command = positionals[0];
  const dryRun = values['dry-run'];
  const context = values.context || undefined;

  // Inputs first: a bad value never reaches the cluster.
  let change: { weight?: number; faults?: Faults } = {};
  try {
    if (command === 'canary') {
      change = { weight: number('weight', values.weight) };
    } else if (command === 'faults') {
      change = {
        faults: {
          delayPercent: number('delay-percent', values['delay-percent']),
          delaySeconds: number('delay-seconds', values['delay-seconds']),
          abortPercent: number('abort-percent', values['abort-percent']),
          abortStatus: number('abort-status', values['abort-status']),
        },
      };
    } else if (command !== 'reset') {
      throw new UsageError(command ? `unknown command '${command}'` : 'a command is required');
    }
    if (change.faults) validateFaults(change.faults);
    if (change.weight !== undefined) validateWeight(change.weight);
  } catch (error) {
    console.error(`mesh: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }

  const documents = loadRoutes(repoRoot);
  const vs = virtualService(documents);
  const committed = readState(vs.toJS() as VirtualServiceLike);
  // --dry-run never talks to a cluster: it compares with the committed file.
  const before = (dryRun ? undefined : liveState(context)) ?? committed;
  let applied = documents; // reset: the DestinationRule too, in case it was edited by hand
  if (command !== 'reset') {
    // One setting changes; the other keeps its live value.
    setCanaryWeight(vs, change.weight ?? before.v2Weight);
    setFaults(vs, change.faults ?? before.faults);
    applied = [vs];
  }

  const summary = summarize(before, readState(vs.toJS() as VirtualServiceLike));
  const yaml = toYaml(applied);
  if (dryRun) {
    // Valid YAML on stdout: the summary rides along as comments.
    console.log(`# mesh ${command} (dry run: nothing applied)\n${summary.map((l) => `# ${l}`).join('\n')}\n${yaml}`);
    return 0;
  }
  console.log(summary.join('\n'));
  const result = kubectl(context, ['apply', '-f', '-'], yaml);
  if (result.stdout) process.stdout.write(result.stdout);
  if (result.status !== 0) {
    console.error(`mesh: kubectl apply failed: ${(result.error?.message ?? result.stderr ?? '').trim()}`);
    return 1;
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
