import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './tools';

/** Never copied: installs, builds, caches and Tilt/git state (node_modules is linked instead). */
const SKIPPED = new Set(['node_modules', '.git', '.cache', 'dist', 'coverage', 'test-results', '.tilt-local']);

export interface RepoCopy {
  dir: string;
  /** Absolute path of `relative` inside the copy. */
  file(relative: string): string;
  dispose(): void;
}

/**
 * A throw-away copy of the repository's sources in a temporary folder, so a
 * test can edit services/* while other tests read the live checkout.
 * node_modules is not copied: the copy gets its own node_modules folder whose
 * entries link to the checkout's, except the workspace packages
 * (@meshloop/*), which link to the copy's own services so that imports of the
 * shared package see the copy's sources.
 */
export function copyRepository(prefix = 'meshloop-copy-'): RepoCopy {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    cpSync(repoRoot, dir, { recursive: true, filter: (source) => !SKIPPED.has(path.basename(source)) || source === repoRoot });
    linkNodeModules(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    file: (relative) => path.join(dir, relative),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function linkNodeModules(dir: string): void {
  const source = path.join(repoRoot, 'node_modules');
  const target = path.join(dir, 'node_modules');
  mkdirSync(target);
  for (const entry of readdirSync(source)) {
    if (entry === '@meshloop') continue;
    symlinkSync(path.join(source, entry), path.join(target, entry));
  }
  mkdirSync(path.join(target, '@meshloop'));
  for (const entry of readdirSync(path.join(source, '@meshloop'))) {
    // Same relative link npm makes: node_modules/@meshloop/<ws> -> ../../services/<ws>
    symlinkSync(path.join('..', '..', 'services', entry), path.join(target, '@meshloop', entry));
  }
}
