// npm run new-service -- <name> [--port N] [--calls s]... [--called-by s]... [--dry-run]
// npm run remove-service -- <name> [--dry-run]
// Everything is checked before the first write; a refusal writes nothing and exits 1.
import path from 'node:path';
import { conflicts, describeChanges, dryRunReport, updateLock, writeChanges } from './apply';
import { buildPlan } from './plan';
import { planRemoval } from './remove';
import { parseNewServiceArgs, UsageError, validateRequest } from './validate';
import { readMeshServices } from './workspace';

/** Runs one command against the repository at `root`; returns the exit code (output through `print`). */
export function run(command: string | undefined, argv: string[], root: string, print: (line: string) => void, printError: (line: string) => void): number {
  try {
    if (command === 'new') return newService(argv, root, print, printError);
    if (command === 'remove') return removeService(argv, root, print, printError);
    printError('usage: cli.ts new|remove <name> [options]');
    return 2;
  } catch (error) {
    printError(error instanceof UsageError ? error.message : `new-service: ${(error as Error).message}`);
    return 1;
  }
}

function newService(argv: string[], root: string, print: (line: string) => void, printError: (line: string) => void): number {
  const request = parseNewServiceArgs(argv);
  const services = readMeshServices(root);
  const problems = validateRequest(root, request, services);
  if (problems.length > 0) {
    printError(`new-service: refused, nothing written:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  const plan = buildPlan(root, request, services);
  if (request.dryRun) {
    print(dryRunReport(plan));
    return 0;
  }
  const blocked = conflicts(root, plan.changes);
  if (blocked.length > 0) {
    printError(`new-service: refused, nothing written:\n${blocked.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  writeChanges(root, plan.changes);
  updateLock(root);
  print([
    `new-service: ${plan.name} on port ${plan.ports.port} (metrics ${plan.ports.metricsPort}, inspector ${plan.ports.debugPort})`,
    ...describeChanges(plan.changes).map((line) => `  ${line}`),
    '  edit   package-lock.json: the workspace is linked',
    '',
    `Next: write your routes in services/${plan.name}/src/app.ts; \`tilt up\` (or \`tilt up -- --local\`) picks the service up.`,
    `Undo: npm run remove-service -- ${plan.name}`,
  ].join('\n'));
  return 0;
}

function removeService(argv: string[], root: string, print: (line: string) => void, printError: (line: string) => void): number {
  const names = argv.filter((a) => !a.startsWith('-'));
  const dryRun = argv.includes('--dry-run');
  if (names.length !== 1 || names.length + (dryRun ? 1 : 0) !== argv.length) {
    printError('usage: npm run remove-service -- <name> [--dry-run]');
    return 1;
  }
  const changes = planRemoval(root, names[0]!);
  const blocked = conflicts(root, changes);
  if (blocked.length > 0) {
    printError(`remove-service: refused, nothing changed:\n${blocked.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  if (dryRun) {
    print([`remove-service ${names[0]} (dry run, nothing changed):`, ...describeChanges(changes).map((line) => `  ${line}`), '  edit   package-lock.json'].join('\n'));
    return 0;
  }
  writeChanges(root, changes);
  updateLock(root);
  print([`remove-service: ${names[0]} removed`, ...describeChanges(changes).map((line) => `  ${line}`), '  edit   package-lock.json'].join('\n'));
  return 0;
}

if (require.main === module) {
  // npm runs scripts in the root package's folder; MESHLOOP_ROOT points elsewhere (tests).
  const root = path.resolve(process.env.MESHLOOP_ROOT ?? process.cwd());
  process.exitCode = run(process.argv[2], process.argv.slice(3), root, (l) => console.log(l), (l) => console.error(l));
}
