import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Files to sync, by path relative to the sync root (e.g. `services/business-logic/src/app.ts`). */
export type SyncFiles = Record<string, string>;

/**
 * A tar stream of `files` laid out under their relative paths, exactly what
 * Tilt's live update sends (it archives the changed files with their target
 * paths and pipes the archive to `tar -C / -x -f -` in the container).
 */
export function tarArchive(files: SyncFiles, options: { mtime?: Date } = {}): Buffer {
  const stage = mkdtempSync(path.join(tmpdir(), 'meshloop-sync-'));
  try {
    for (const [relative, content] of Object.entries(files)) {
      const file = path.join(stage, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
    // Like Tilt's archive: root-owned entries, mtimes in whole seconds
    // (`mtime` pins them, e.g. to model saves within one second).
    const mtime = options.mtime ? [`--mtime=@${Math.floor(options.mtime.getTime() / 1000)}`] : [];
    return execFileSync('tar', ['-C', stage, '--owner=0', '--group=0', ...mtime, '-c', '-f', '-', ...Object.keys(files)], { maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Extracts `files` under `root` the way Tilt's sync does: GNU tar unlinks each
 * existing file and creates a new one (a new inode, often with the old inode's
 * number), never writing in place. With TAR_OPTIONS=--touch, as the dev image
 * sets it (services/Dockerfile; the container tier tests that setting with
 * same-second saves): each file gets the time of the sync as its mtime.
 */
export function tarSync(root: string, files: SyncFiles): void {
  execFileSync('tar', ['-C', root, '-x', '-f', '-'], { input: tarArchive(files), env: { ...process.env, TAR_OPTIONS: '--touch' } });
}
