// A throwaway copy of the repository's workspace layout for tests that edit
// service sources: the live checkout's services/*/src stay untouched while
// other test files run. Dependencies are the checkout's (node_modules is a
// symlink), so the copy starts as fast as the original.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './tools';

export interface TempWorkspace {
  root: string;
  /** services/<name> inside the copy. */
  serviceDir(name: string): string;
  remove(): void;
}

/** Copies package.json, tsconfig.json, .npmrc and services/<name> (sources and manifests) for each name. */
export function copyWorkspace(services: string[]): TempWorkspace {
  const root = mkdtempSync(path.join(os.tmpdir(), 'meshloop-workspace-'));
  for (const file of ['package.json', 'tsconfig.json', '.npmrc']) cpSync(path.join(repoRoot, file), path.join(root, file));
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  mkdirSync(path.join(root, 'services'));
  for (const name of services) {
    cpSync(path.join(repoRoot, 'services', name), path.join(root, 'services', name), {
      recursive: true,
      filter: (source) => !/[/\\](node_modules|dist|test)$/.test(source),
    });
  }
  return {
    root,
    serviceDir: (name) => path.join(root, 'services', name),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
