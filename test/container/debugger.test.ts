// The debugger against the real `dev` image of business-logic in a real
// container: its inspector listens on the container's loopback only
// (127.0.0.1:9229), reached the way `kubectl port-forward` reaches a pod's
// (a host listener piped into the container's network namespace, see
// support/netns-forward.ts). A real DevTools-protocol client breaks in the
// TypeScript source through its source map, steps, resumes, and after Tilt's
// live-update sync (tar -x in the container) attaches to the new process.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachWithBreakpoint, BREAKPOINT_TEXT, debugSlowRequest, lineOf, nextStatementLine, nextTarget, type Attached } from '../support/debugger-scenario';
import { buildServiceImage, docker, fetchWithin, removeLabelled, runContainer, tarSync, testLabel, type Container } from '../support/docker';
import { attachConfig, readLaunchJson, remotePath } from '../support/launch-json';
import { listeningAddresses } from '../support/listening';
import { forwardIntoNetns, type Forward } from '../support/netns-forward';
import { waitFor } from '../support/ports';

const label = testLabel('debugger');
/** The dev target's inspector port (services/Dockerfile CMD; the Tiltfile forwards to it). */
const POD_DEBUG_PORT = 9229;
/** app.ts where the pod has it, by the mapping of .vscode/launch.json (what VS Code does with a breakpoint there). */
const APP_FILE = remotePath(attachConfig(readLaunchJson(), 'business-logic', 'cluster'), 'services/business-logic/src/app.ts');
let container: Container;
let forward: Forward;
let inspector: string;
let containerIp: string;
let pid: number;
let attached: Attached | undefined;

/** How a TCP connect ends: 'connected', or the error code (ECONNREFUSED...). */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

beforeAll(async () => {
  removeLabelled(label);
  const image = buildServiceImage('business-logic', 'dev');
  // A network of this test's own: the container's address is one the test created.
  const network = `meshloop-debugger-${randomBytes(3).toString('hex')}`;
  docker(['network', 'create', '--label', label, network]);
  container = runContainer(image, { label, network, ports: [8081] });
  await waitFor('business-logic dev /readyz', async () => ((await fetchWithin(`${container.url(8081)}/readyz`)).ok ? true : undefined), 60_000, 200).catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n${container.logs()}`, { cause: error });
    },
  );
  pid = Number(docker(['inspect', '-f', '{{.State.Pid}}', container.id]));
  containerIp = docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container.id]);
  forward = await forwardIntoNetns(pid, POD_DEBUG_PORT);
  inspector = `http://127.0.0.1:${forward.port}`;
}, 30 * 60_000);

afterAll(async () => {
  attached?.session.close();
  await forward?.close();
  removeLabelled(label);
});

describe('debugger attached to the dev container through a port-forward', () => {
  it("the inspector listens on the container's 127.0.0.1:9229 only; a connect to the container's own address on 9229 is refused", async () => {
    expect(listeningAddresses(pid, POD_DEBUG_PORT)).toEqual(['127.0.0.1']);
    expect(containerIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Same address, the app's port: the address is right, only the inspector is not there.
    expect(await tryConnect(containerIp, 8081)).toBe('connected');
    expect(await tryConnect(containerIp, POD_DEBUG_PORT)).toBe('ECONNREFUSED');
  });

  it('when a breakpoint is set in app.ts by its TypeScript line (path mapped as launch.json maps it), a /slow request pauses there with its values in scope; step over and resume work', async () => {
    const source = docker(['exec', container.id, 'cat', APP_FILE]);
    const line = lineOf(source, BREAKPOINT_TEXT);
    attached = await attachWithBreakpoint(await nextTarget(inspector, undefined, 15_000), APP_FILE, line);
    expect(attached.resolved).toBeGreaterThan(0);
    const seen = await debugSlowRequest(attached.session, container.url(8081), 123);
    expect(seen.pausedAt).toEqual({ file: APP_FILE, line });
    expect(seen.locals).toEqual(expect.arrayContaining(['req', 'res', 'requestedDelayMs']));
    expect(seen.requestedDelayMs).toBe(123);
    expect(seen.queryDelayMs).toBe('123');
    expect(seen.steppedTo).toEqual({ file: APP_FILE, line: nextStatementLine(source, line) });
    expect(seen.delayMsAfterStep).toBe(123);
    expect(seen.answeredWhilePaused).toBe(false);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ endpoint: 'slow', requestedDelayMs: 123 });
  });

  it("after each live-update sync of app.ts (tar -x in the container) the restarted process is attached again through the same forward, and its breakpoint binds to the edited line", async () => {
    const original = docker(['exec', container.id, 'cat', APP_FILE]);
    for (let edit = 1; edit <= 2; edit++) {
      const previous = attached!;
      const edited = `${'// moved by the debugger test\n'.repeat(edit)}${original.replace("endpoint: 'slow'", `endpoint: 'slow-${edit}'`)}`;
      tarSync(container, { [APP_FILE.slice(1)]: edited });
      await previous.session.closed;
      attached = await attachWithBreakpoint(await nextTarget(inspector, previous.targetId, 20_000), APP_FILE, lineOf(edited, BREAKPOINT_TEXT));
      expect(attached.resolved).toBeGreaterThan(0);
      const seen = await debugSlowRequest(attached.session, container.url(8081), 60 + edit).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- container log (tail) ---\n${container.logs().split('\n').slice(-25).join('\n')}`, { cause: error });
      });
      expect(seen.pausedAt).toEqual({ file: APP_FILE, line: lineOf(edited, BREAKPOINT_TEXT) });
      expect(seen.requestedDelayMs).toBe(60 + edit);
      expect(seen.body).toMatchObject({ endpoint: `slow-${edit}`, requestedDelayMs: 60 + edit });
    }
    expect(listeningAddresses(pid, POD_DEBUG_PORT)).toEqual(['127.0.0.1']);
  });
});
