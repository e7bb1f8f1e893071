import { execFileSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

/**
 * Telemetry backends in the states a developer's services meet (Loki not
 * deployed yet, Jaeger restarting, CoreDNS down...). Everything stays on this
 * machine: loopback ports, a loopback DNS address, and a mount namespace.
 */
export type BackendState = 'refusing' | 'hanging' | 'unreachable' | 'slow DNS';

export interface BrokenBackends {
  /** Telemetry environment of a service pointed at the broken backends. */
  env: Record<string, string>;
  /** Wraps a command so that it runs where this state holds (slow DNS: a mount namespace). */
  wrap(command: string, args: string[]): [string, string[]];
  close(): Promise<void>;
}

function endpoints(host: string, logsPort: number, spansPort: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `http://${host}:${logsPort}/otlp/v1/logs`,
    OTEL_EXPORTER_ZIPKIN_ENDPOINT: `http://${host}:${spansPort}/api/v2/spans`,
  };
}

const unwrapped = (command: string, args: string[]): [string, string[]] => [command, args];

function requireCommand(name: string, install: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${name} is required by this test (${install}) and is not on PATH`);
  }
}

/** Nothing listens: every connect is refused at once. */
async function refusing(): Promise<BrokenBackends> {
  return { env: endpoints('127.0.0.1', await freePort(), await freePort()), wrap: unwrapped, close: async () => undefined };
}

/** Accepts connections and never answers. */
async function hanging(): Promise<BrokenBackends> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    env: endpoints('127.0.0.1', port, port),
    wrap: unwrapped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects are never answered (SYNs dropped by an iptables rule on lo for one port). */
async function unreachable(): Promise<BrokenBackends> {
  requireCommand('iptables', 'apt-get install iptables; run the tests as root');
  const port = await freePort();
  const rule = ['INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(port), '-j', 'DROP', '-m', 'comment', '--comment', 'meshloop-test'];
  execFileSync('iptables', ['-I', ...rule]);
  return {
    env: endpoints('127.0.0.1', port, port),
    wrap: unwrapped,
    close: async () => {
      execFileSync('iptables', ['-D', ...rule]);
    },
  };
}

/**
 * The backends' names must be resolved and the DNS server never answers: a
 * UDP socket on a loopback address's port 53 that swallows queries, and a
 * resolv.conf naming it, bind-mounted over /etc/resolv.conf in a private
 * mount namespace of the service's own (`unshare -m`; needs root).
 */
async function slowDns(): Promise<BrokenBackends> {
  requireCommand('unshare', 'util-linux; run the tests as root');
  let dns: UdpSocket | undefined;
  let address = '';
  for (let attempt = 0; attempt < 20 && !dns; attempt++) {
    const candidate = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const socket = createSocket('udp4');
    socket.on('message', () => undefined); // swallow every query
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(53, candidate, resolve);
      });
      dns = socket;
      address = candidate;
    } catch {
      socket.close();
    }
  }
  if (!dns) throw new Error('could not bind a loopback DNS address on port 53 (the slow-DNS test needs root)');
  const dir = mkdtempSync(path.join(tmpdir(), 'meshloop-dns-'));
  const resolvConf = path.join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${address}\n`);
  const server = dns;
  return {
    env: {
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://loki.observability:3100/otlp/v1/logs',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://jaeger-collector.observability:9411/api/v2/spans',
    },
    wrap: (command, args) => ['unshare', ['-m', '--', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf, command, ...args]],
    close: async () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function brokenBackends(state: BackendState): Promise<BrokenBackends> {
  switch (state) {
    case 'refusing':
      return refusing();
    case 'hanging':
      return hanging();
    case 'unreachable':
      return unreachable();
    case 'slow DNS':
      return slowDns();
  }
}
