import { readdirSync, readFileSync } from 'node:fs';

/** A /proc read, or `fallback` when the process is gone meanwhile. */
function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** All descendants of a process, from /proc (Linux). */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const task of readOr(() => readdirSync(`/proc/${parent}/task`), [])) {
      const children = readOr(() => readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8'), '');
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] ? Number(match[1]) : 0;
}

/** The process that serves: the newest descendant running the entry file (tsx watch runs it as a child). */
export function servingProcess(rootPid: number, entry = 'src/server.ts'): number {
  const candidates = [rootPid, ...descendants(rootPid)].filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.some((arg) => arg.endsWith(entry)) && !argv.includes('watch');
    } catch {
      return false;
    }
  });
  const pid = candidates.at(-1);
  if (pid === undefined) throw new Error(`no process running ${entry} under pid ${rootPid}`);
  return pid;
}
