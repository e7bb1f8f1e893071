// Debugger timings (docs/debugging.md), local mode and the dev container:
//   attach:    connect + Runtime/Debugger.enable until a breakpoint in app.ts is resolved
//   re-attach: Tilt-style sync of app.ts (tar -x) with a debugger attached ->
//              the new process's inspector accepts a connection (and -> breakpoint resolved again)
// Usage: npm run bench:debugger [-- --runs 5] [-- --local-only]
import { readFileSync } from 'node:fs';
import { attachWithBreakpoint, BREAKPOINT_TEXT, lineOf, nextTarget, type Attached } from '../../test/support/debugger-scenario';
import { DevToolsSession } from '../../test/support/devtools';
import { buildServiceImage, docker, fetchWithin, removeLabelled, runContainer, tarSync as containerSync, testLabel } from '../../test/support/docker';
import { attachConfig, readLaunchJson, remotePath } from '../../test/support/launch-json';
import { forwardIntoNetns } from '../../test/support/netns-forward';
import { freePort, waitFor } from '../../test/support/ports';
import { startService, stopAllServices } from '../../test/support/services';
import { tarSync } from '../../test/support/tar-sync';
import { copyRepository } from '../../test/support/repo-copy';

const APP = 'services/business-logic/src/app.ts';
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
const localOnly = args.includes('--local-only');

interface Target {
  inspector: string;
  appFile: string;
  original: string;
  sync(content: string): void;
}

interface Timings {
  attachMs: number[];
  reattachConnectMs: number[];
  reattachBreakpointMs: number[];
}

async function measure(target: Target): Promise<Timings> {
  const line = lineOf(target.original, BREAKPOINT_TEXT);
  const timings: Timings = { attachMs: [], reattachConnectMs: [], reattachBreakpointMs: [] };
  let attached: Attached | undefined;
  for (let i = 0; i < runs; i++) {
    attached?.session.close();
    if (attached) await attached.session.closed;
    attached = await attachWithBreakpoint(await nextTarget(target.inspector, undefined, 30_000), target.appFile, line);
    timings.attachMs.push(attached.attachMs);
  }
  for (let edit = 1; edit <= runs; edit++) {
    const previous = attached!;
    const edited = target.original.replace("endpoint: 'slow'", `endpoint: 'slow-bench-${edit}'`);
    const started = performance.now();
    target.sync(edited);
    await previous.session.closed;
    const next = await nextTarget(target.inspector, previous.targetId, 30_000);
    const session = await DevToolsSession.connect(next.webSocketDebuggerUrl);
    timings.reattachConnectMs.push(performance.now() - started);
    await session.send('Runtime.enable');
    await session.send('Debugger.enable');
    await session.setBreakpointInSource(target.appFile, line);
    timings.reattachBreakpointMs.push(performance.now() - started);
    attached = { session, targetId: next.id, attachMs: 0, resolved: 1 };
  }
  attached?.session.close();
  target.sync(target.original);
  return timings;
}

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${name}: median ${median.toFixed(0)} ms (min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}, n=${values.length})`;
}

function report(where: string, t: Timings): void {
  console.log(`${where}\n  ${summary('attach (connect -> breakpoint resolved)', t.attachMs)}\n  ${summary('re-attach (sync -> new inspector accepts)', t.reattachConnectMs)}\n  ${summary('re-attach (sync -> breakpoint resolved)', t.reattachBreakpointMs)}`);
}

async function local(): Promise<void> {
  const workspace = copyRepository('meshloop-bench-debugger-');
  try {
    const debugPort = await freePort();
    await startService('business-logic', { dir: workspace.file('services/business-logic'), env: { DEBUG_PORT: String(debugPort) } });
    const appFile = remotePath(attachConfig(readLaunchJson(), 'business-logic', 'local'), APP, workspace.root);
    report('local (npm run dev)', await measure({
      inspector: `http://127.0.0.1:${debugPort}`,
      appFile,
      original: readFileSync(appFile, 'utf8'),
      sync: (content) => tarSync(workspace.root, { [APP]: content }),
    }));
  } finally {
    await stopAllServices();
    workspace.dispose();
  }
}

async function container(): Promise<void> {
  const label = testLabel('bench-debugger');
  removeLabelled(label);
  const image = buildServiceImage('business-logic', 'dev');
  const started = runContainer(image, { label, ports: [8081] });
  try {
    await waitFor('business-logic /readyz', async () => ((await fetchWithin(`${started.url(8081)}/readyz`)).ok ? true : undefined), 60_000, 200);
    const pid = Number(docker(['inspect', '-f', '{{.State.Pid}}', started.id]));
    const forward = await forwardIntoNetns(pid, 9229);
    const appFile = remotePath(attachConfig(readLaunchJson(), 'business-logic', 'cluster'), APP);
    try {
      report('dev container (through the port-forward model)', await measure({
        inspector: `http://127.0.0.1:${forward.port}`,
        appFile,
        original: docker(['exec', started.id, 'cat', appFile]),
        sync: (content) => containerSync(started, { [appFile.slice(1)]: content }),
      }));
    } finally {
      await forward.close();
    }
  } finally {
    removeLabelled(label);
  }
}

async function main(): Promise<void> {
  await local();
  if (!localOnly) await container();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
