// Writing a plan (or printing it for --dry-run), then letting npm link the
// workspace in package-lock.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FileChange, Plan } from './plan';

/** Problems that would make the plan overwrite or lose something (checked before the first write). */
export function conflicts(root: string, changes: FileChange[]): string[] {
  return changes.flatMap((change) => {
    const file = path.join(root, change.path);
    if (change.action === 'create' && existsSync(file)) return [`${change.path} already exists`];
    if (change.action === 'edit' && (!existsSync(file) || readFileSync(file, 'utf8') !== change.before)) return [`${change.path} changed since it was read`];
    if (change.action === 'delete' && !existsSync(file)) return [`${change.path} does not exist`];
    return [];
  });
}

export function describeChanges(changes: FileChange[]): string[] {
  return changes.map((change) => {
    if (change.action === 'create') return `create ${change.path} (${change.content.split('\n').length - 1} lines)`;
    if (change.action === 'edit') return `edit   ${change.path}: ${change.summary}`;
    return `delete ${change.path}`;
  });
}

/** What --dry-run prints: the list, then every new file in full and every edit as before/after lines. */
export function dryRunReport(plan: Plan): string {
  const out = [`new-service ${plan.name} (dry run, nothing written): port ${plan.ports.port}, metricsPort ${plan.ports.metricsPort}, debugPort ${plan.ports.debugPort}`, ''];
  out.push(...describeChanges(plan.changes), 'update package-lock.json (npm install --package-lock-only --offline: links the workspace)', '');
  for (const change of plan.changes) {
    if (change.action === 'create') out.push(`--- ${change.path}`, change.content);
    if (change.action === 'edit') {
      const before = new Set(change.before.split('\n'));
      const after = new Set(change.after.split('\n'));
      out.push(`--- ${change.path}`);
      for (const line of change.before.split('\n')) if (!after.has(line)) out.push(`- ${line}`);
      for (const line of change.after.split('\n')) if (!before.has(line)) out.push(`+ ${line}`);
      out.push('');
    }
  }
  return out.join('\n');
}

export function writeChanges(root: string, changes: FileChange[]): void {
  for (const change of changes) {
    const file = path.join(root, change.path);
    if (change.action === 'delete') {
      rmSync(file, { recursive: true, force: true });
      continue;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, change.action === 'create' ? change.content : change.after);
  }
}

/**
 * npm records every workspace in package-lock.json (npm ci, in the image too, refuses
 * a lock that does not match). Lock only, offline: nothing is downloaded and
 * node_modules is left alone (a new workspace needs no install: its dependencies are
 * the template's, already hoisted at the root). The lock is a function of the
 * package.json files, so removing the workspace and running this again restores it.
 */
export function updateLock(root: string): void {
  execFileSync('npm', ['install', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
