// A throwaway copy of the repository (its committed and not-ignored files) for tests
// and benches that change files while other tests read the live checkout.
// Nothing is installed: node_modules gets one link per entry to the checkout's,
// except the workspace packages (@meshloop/*), which link to the copy's own
// services (as npm links them), so that an edit of the shared package in the copy
// is what the copy's services and tests import. .cache (the tools) is a link to
// the checkout's. The copy is its own git repository, so what a test changed and
// whether it was undone is `git status` of the copy.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './tools';

export interface RepoCopy {
  root: string;
  /** Absolute path of `relative` inside the copy. */
  file(relative: string): string;
  /** `git status --porcelain` of the copy: what changed since the copy was made (ignored files left out). */
  status(): string;
  dispose(): void;
}

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function copyRepository(prefix = 'meshloop-copy-'): RepoCopy {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const files = git(repoRoot, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
      .split('\0')
      .filter((file) => file !== '' && existsSync(path.join(repoRoot, file)));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      copyFileSync(path.join(repoRoot, file), path.join(root, file));
    }
    linkNodeModules(root);
    if (existsSync(path.join(repoRoot, '.cache'))) symlinkSync(path.join(repoRoot, '.cache'), path.join(root, '.cache'));
    const identity = ['-c', 'user.name=meshloop-test', '-c', 'user.email=test@localhost', '-c', 'commit.gpgsign=false'];
    git(root, ['init', '-q']);
    git(root, ['add', '-A']);
    git(root, [...identity, 'commit', '-q', '-m', 'copy']);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    root,
    file: (relative) => path.join(root, relative),
    status: () => git(root, ['status', '--porcelain', '--untracked-files=all']),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

function linkNodeModules(root: string): void {
  const source = path.join(repoRoot, 'node_modules');
  const target = path.join(root, 'node_modules');
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
