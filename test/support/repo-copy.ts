// A throwaway copy of the repository (its committed and not-ignored files) for tests
// that change files: node_modules and .cache (the tools) are symlinked to the
// checkout's, never copied or written. The copy is its own git repository, so what a
// test changed and whether it was undone is `git status` of the copy.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './tools';

export interface RepoCopy {
  root: string;
  /** `git status --porcelain` of the copy: what changed since the copy was made (ignored files left out). */
  status(): string;
  dispose(): void;
}

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function copyRepository(): RepoCopy {
  const root = mkdtempSync(path.join(os.tmpdir(), 'meshloop-copy-'));
  const files = git(repoRoot, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    .split('\0')
    .filter((file) => file !== '' && existsSync(path.join(repoRoot, file)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    copyFileSync(path.join(repoRoot, file), path.join(root, file));
  }
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  if (existsSync(path.join(repoRoot, '.cache'))) symlinkSync(path.join(repoRoot, '.cache'), path.join(root, '.cache'));
  const identity = ['-c', 'user.name=meshloop-test', '-c', 'user.email=test@localhost', '-c', 'commit.gpgsign=false'];
  git(root, ['init', '-q']);
  git(root, ['add', '-A']);
  git(root, [...identity, 'commit', '-q', '-m', 'copy']);
  return {
    root,
    status: () => git(root, ['status', '--porcelain', '--untracked-files=all']),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}
