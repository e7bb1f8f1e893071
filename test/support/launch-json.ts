// .vscode/launch.json, read the way VS Code's JavaScript debugger uses it:
// attach to localhost:<port>, and map a source path the debugged process
// reports (remoteRoot/...) to the workspace (localRoot/...) and back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './tools';

export interface AttachConfig {
  name: string;
  type: string;
  request: string;
  address?: string;
  port: number;
  localRoot?: string;
  remoteRoot?: string;
  restart?: boolean;
  sourceMaps?: boolean;
  skipFiles?: string[];
}

export interface LaunchJson {
  configurations: AttachConfig[];
  compounds: Array<{ name: string; configurations: string[] }>;
}

export type DebugMode = 'cluster' | 'local';

export function readLaunchJson(): LaunchJson {
  return JSON.parse(readFileSync(path.join(repoRoot, '.vscode', 'launch.json'), 'utf8')) as LaunchJson;
}

export function attachConfig(launch: LaunchJson, service: string, mode: DebugMode): AttachConfig {
  const config = launch.configurations.find((c) => c.name === `Attach: ${service} (${mode})`);
  if (!config) throw new Error(`.vscode/launch.json has no "Attach: ${service} (${mode})"`);
  return config;
}

/** Where the debugged process sees the workspace file `relative` (e.g. services/x/src/app.ts). */
export function remotePath(config: AttachConfig, relative: string, workspaceFolder = repoRoot): string {
  const local = path.join(workspaceFolder, relative);
  if (!config.remoteRoot) return local; // same paths on both sides (local mode)
  const localRoot = (config.localRoot ?? '${workspaceFolder}').replace('${workspaceFolder}', workspaceFolder);
  return path.posix.join(config.remoteRoot, path.relative(localRoot, local).split(path.sep).join('/'));
}
