// Does Istio's sidecar capture get in the way of a port-forward to the
// loopback-bound inspector? Checked against Istio 1.30's real capture rules:
// istio-iptables (built from the pinned istio.io/istio module, the command the
// istio-init container runs) programs a network namespace this test creates,
// with the arguments the sidecar injector gives it. In that "pod": the app, a
// real `node --inspect=127.0.0.1:<port>` as the app user (uid 1000), and, on
// Envoy's capture ports, stand-in listeners as the proxy user (uid 1337) that
// only say they captured a connection (no Envoy can run here).
// The port-forward is made as kubelet's container runtime makes it: a root
// process entering the netns and dialing localhost:<port> (support/netns-forward.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevToolsSession, inspectorTargets } from './support/devtools';
import { forwardIntoNetns, type Forward } from './support/netns-forward';
import { waitFor } from './support/ports';
import { toolPath } from './support/tools';

const POD_IP = '10.250.0.2';
/** On the pod's own link, reached through ISTIO_OUTPUT like any outbound destination. */
const OUTSIDE_IP = '10.250.0.3';
const DEBUG_PORT = 9229;
const APP_UID = 1000;
const PROXY_UID = 1337;
/** What the sidecar injector passes to istio-iptables (REDIRECT mode, everything captured, Envoy's own ports excluded). */
const INJECTED_ARGS = ['-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

const children: ChildProcess[] = [];
let pod: ChildProcess;
let forward: Forward;

function started(command: string, args: string[], ready: RegExp, what: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const check = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`)));
  });
}

/** Runs `node -e script` in the pod's netns as `uid`. */
function inPod(uid: number, script: string, args: string[] = [], nodeFlags: string[] = []): string[] {
  return ['-t', String(pod.pid), '-n', '-S', String(uid), '-G', String(uid), process.execPath, ...nodeFlags, '-e', script, ...args];
}

/** One TCP connect from inside the pod as root: the first line the peer sends, or the error code. */
function dialFromPod(host: string, port: number): Promise<string> {
  const script = [
    "const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);",
    "s.setTimeout(5000, () => { console.log('timeout'); process.exit(0); });",
    "s.on('data', (d) => { console.log(String(d).split('\\n')[0]); process.exit(0); });",
    "s.on('connect', () => s.write('GET /json/version HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n'));",
    "s.on('error', (e) => { console.log(e.code); process.exit(0); });",
  ].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', inPod(0, script, [host, String(port)]), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(out.trim()));
  });
}

beforeAll(async () => {
  const iptables = toolPath('istio-iptables');
  // The pod: a fresh netns with loopback and one veth "eth0" holding the pod IP.
  pod = await started(
    'unshare',
    ['-n', '--', 'sh', '-c', [
      'set -e',
      'ip link set lo up',
      'ip link add eth0 type veth peer name peer0',
      `ip addr add ${POD_IP}/24 dev eth0`,
      'ip link set eth0 up',
      'ip link set peer0 up',
      `"$0" "$@" >/dev/null`,
      'echo pod-ready',
      'exec sleep 3600',
    ].join('\n'), iptables, ...INJECTED_ARGS],
    /pod-ready/,
    'the pod netns with istio-iptables',
  );
  // Envoy's outbound (15001) and inbound (15006) capture ports, as the proxy user.
  const capture = "for (const p of [15001, 15006]) require('node:net').createServer((s) => s.end('captured by ' + p + '\\n')).listen(p, () => console.log('listening ' + p));";
  await started('nsenter', inPod(PROXY_UID, capture), /listening 15001[\s\S]*listening 15006|listening 15006[\s\S]*listening 15001/, 'the capture stand-ins');
  // The app: Node's inspector on the pod's loopback, as the app user.
  await started('nsenter', inPod(APP_UID, 'setInterval(() => {}, 1e6)', [], [`--inspect=127.0.0.1:${DEBUG_PORT}`]), /Debugger listening/, 'node --inspect');
  forward = await forwardIntoNetns(pod.pid!, DEBUG_PORT);
}, 10 * 60_000);

afterAll(async () => {
  await forward?.close();
  for (const child of children.reverse()) child.kill('SIGKILL');
});

describe("Istio 1.30's capture rules and a port-forward to the loopback-bound inspector", () => {
  it('the capture is active in the pod: an outbound connection is redirected to the proxy port 15001', async () => {
    expect(await dialFromPod(OUTSIDE_IP, 80)).toBe('captured by 15001');
  });

  it("a port-forward (root dialing localhost:9229 inside the pod) reaches the app's inspector, not the proxy, with no port excluded", async () => {
    expect(await dialFromPod('127.0.0.1', DEBUG_PORT)).toMatch(/^HTTP\/1\.[01] 200/);
    const [target] = await waitFor('inspector targets through the forward', async () => {
      const targets = await inspectorTargets(`http://127.0.0.1:${forward.port}`);
      return targets.length > 0 ? targets : undefined;
    }, 10_000);
    const session = await DevToolsSession.connect(target!.webSocketDebuggerUrl);
    try {
      const { result } = await session.send<{ result: { value: number } }>('Runtime.evaluate', { expression: 'process.getuid()', returnByValue: true });
      expect(result.value).toBe(APP_UID);
    } finally {
      session.close();
    }
  });

  it("the pod's own address on 9229 is not the inspector: refused (nothing listens there), never captured into it", async () => {
    expect(await dialFromPod(POD_IP, DEBUG_PORT)).toBe('ECONNREFUSED');
  });
});
