// A model of `kubectl port-forward`, kept thin: a listener on the host's
// 127.0.0.1 whose every connection is piped to 127.0.0.1:<port> *inside*
// another process's network namespace. That is what kubelet's CRI runtime
// does (containerd's portForward: enter the pod's netns, dial localhost:<port>,
// copy both ways), so a service bound to the pod's loopback is reachable
// without being exposed on any other address.
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';

/** Runs in the target netns (via nsenter): connect to 127.0.0.1:<argv[1]> and pipe stdio through it. */
const PIPE = [
  "const s = require('node:net').connect(Number(process.argv[1]), '127.0.0.1');",
  's.on("connect", () => { process.stdin.pipe(s); s.pipe(process.stdout); });',
  's.on("error", () => process.exit(1));',
  's.on("close", () => process.exit(0));',
].join(' ');

export interface Forward {
  /** The host port (on 127.0.0.1). */
  port: number;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<host port> to 127.0.0.1:`port` in the network namespace of process `pid` (needs root). */
export async function forwardIntoNetns(pid: number, port: number): Promise<Forward> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const pipe = spawn('nsenter', ['-t', String(pid), '-n', process.execPath, '-e', PIPE, String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
    socket.pipe(pipe.stdin);
    pipe.stdout.pipe(socket);
    const end = () => socket.destroy();
    pipe.on('exit', end);
    pipe.on('error', end);
    socket.on('close', () => {
      sockets.delete(socket);
      pipe.kill();
    });
    socket.on('error', () => pipe.kill());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
