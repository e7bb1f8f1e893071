// The debugger in local mode, with a real inspector client (DevTools protocol
// over WebSocket, like VS Code's) against business-logic's real `npm run dev`
// (tsx watch, the real telemetry preload) in a temp copy of the workspace:
// breakpoints in the TypeScript sources bind and pause a request, stepping
// works, and after Tilt-style syncs (tar -x) the new process can be attached
// again on the same port.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachWithBreakpoint, BREAKPOINT_TEXT, debugSlowRequest, lineOf, nextStatementLine, nextTarget, type Attached } from './support/debugger-scenario';
import { attachConfig, readLaunchJson, remotePath } from './support/launch-json';
import { listeningAddresses } from './support/listening';
import { freePort, waitFor } from './support/ports';
import { startService, stopAllServices, type ServiceProcess } from './support/services';
import { tarSync } from './support/tar-sync';
import { copyRepository, type RepoCopy } from './support/repo-copy';

const APP = 'services/business-logic/src/app.ts';
let workspace: RepoCopy;
let service: ServiceProcess;
let debugPort: number;
let inspector: string;
let appFile: string;
let attached: Attached | undefined;

beforeAll(async () => {
  workspace = copyRepository('meshloop-debugger-');
  // Local mode maps nothing: the process reports the workspace's own paths.
  appFile = remotePath(attachConfig(readLaunchJson(), 'business-logic', 'local'), APP, workspace.root);
  debugPort = await freePort();
  inspector = `http://127.0.0.1:${debugPort}`;
  service = await startService('business-logic', { dir: workspace.file('services/business-logic'), env: { DEBUG_PORT: String(debugPort) } });
});

afterAll(async () => {
  attached?.session.close();
  await stopAllServices();
  workspace?.dispose();
});

describe('debugger attached to npm run dev (local mode)', () => {
  it('when DEBUG_PORT is set, the inspector listens on it on 127.0.0.1 only (no other address, no IPv6)', async () => {
    const target = await nextTarget(inspector, undefined, 15_000);
    expect(target.type).toBe('node');
    const pid = service.pid();
    expect(pid, 'pid of the service process from its log').toBeDefined();
    expect(listeningAddresses(pid!, debugPort)).toEqual(['127.0.0.1']);
  });

  it('when a breakpoint is set in app.ts by its TypeScript line, a /slow request pauses there with its values in scope; step over and resume work', async () => {
    const source = readFileSync(appFile, 'utf8');
    const line = lineOf(source, BREAKPOINT_TEXT);
    attached = await attachWithBreakpoint(await nextTarget(inspector, undefined, 15_000), appFile, line);
    expect(attached.resolved).toBeGreaterThan(0);
    const seen = await debugSlowRequest(attached.session, service.url, 137);
    expect(seen.pausedAt).toEqual({ file: appFile, line });
    expect(seen.reason).toBe('other'); // a breakpoint (not an exception)
    expect(seen.locals).toEqual(expect.arrayContaining(['req', 'res', 'requestedDelayMs']));
    expect(seen.requestedDelayMs).toBe(137);
    expect(seen.queryDelayMs).toBe('137');
    // One step lands on the next TypeScript statement, through the telemetry preload's wrappers.
    expect(seen.steppedTo).toEqual({ file: appFile, line: nextStatementLine(source, line) });
    expect(seen.delayMsAfterStep).toBe(137);
    expect(seen.answeredWhilePaused).toBe(false);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ endpoint: 'slow', requestedDelayMs: 137, delayMs: 137 });
  });

  it("after each Tilt-style sync of app.ts (tar -x) the restarted process is attached again on the same port and its breakpoint binds to the edited line", async () => {
    const original = readFileSync(appFile, 'utf8');
    for (let edit = 1; edit <= 2; edit++) {
      const previous = attached!;
      // Lines above the breakpoint move it; the new answer proves the new code runs.
      const edited = `${'// moved by the debugger test\n'.repeat(edit)}${original.replace("endpoint: 'slow'", `endpoint: 'slow-${edit}'`)}`;
      tarSync(workspace.root, { [APP]: edited });
      await previous.session.closed; // the old process is gone (tsx watch restarts it)
      attached = await attachWithBreakpoint(await nextTarget(inspector, previous.targetId, 15_000), appFile, lineOf(edited, BREAKPOINT_TEXT));
      expect(attached.resolved).toBeGreaterThan(0);
      const seen = await debugSlowRequest(attached.session, service.url, 40 + edit);
      expect(seen.pausedAt).toEqual({ file: appFile, line: lineOf(edited, BREAKPOINT_TEXT) });
      expect(seen.requestedDelayMs).toBe(40 + edit);
      expect(seen.body).toMatchObject({ endpoint: `slow-${edit}`, requestedDelayMs: 40 + edit });
    }
    expect(service.child.exitCode).toBeNull();
  });
});

describe('debug port already taken', () => {
  let holder: Server;
  afterAll(() => new Promise<void>((resolve) => (holder ? holder.close(() => resolve()) : resolve())));

  it('when DEBUG_PORT is in use, the service still starts and serves; Node only reports that the inspector could not start', async () => {
    holder = createServer();
    const taken = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    const other = await startService('business-logic', { env: { DEBUG_PORT: String(taken) } });
    expect((await fetch(`${other.url}/fast`)).status).toBe(200);
    await waitFor('the inspector failure message', () => (/address already in use/.test(other.output()) ? true : undefined), 5000);
    expect(other.output()).toContain(`127.0.0.1:${taken}`);
    await other.stop();
  });
});
