// Parsing and checking `npm run new-service -- <name> [...]` before anything is written.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { MeshService } from './workspace';

export interface NewServiceRequest {
  name: string;
  /** HTTP port; picked when not given. */
  port: number | undefined;
  /** Existing services the new one calls (an allow rule at each). */
  calls: string[];
  /** Existing services that call the new one (they get its URL and an allow rule). */
  calledBy: string[];
  dryRun: boolean;
}

export class UsageError extends Error {}

export const USAGE = 'usage: npm run new-service -- <name> [--port N] [--calls <service>]... [--called-by <service>]... [--dry-run]';

/** Values may repeat the flag or be comma-separated: `--calls a --calls b` = `--calls a,b`. */
export function parseNewServiceArgs(argv: string[]): NewServiceRequest {
  const request: NewServiceRequest = { name: '', port: undefined, calls: [], calledBy: [], dryRun: false };
  const names: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[(i += 1)];
      if (next === undefined || next === '') throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    const list = () => value().split(',').map((s) => s.trim()).filter(Boolean);
    switch (flag) {
      case '--port': {
        const text = value();
        if (!/^\d+$/.test(text)) throw new UsageError(`--port must be a whole number, got "${text}"`);
        request.port = Number(text);
        break;
      }
      case '--calls':
        request.calls.push(...list());
        break;
      case '--called-by':
        request.calledBy.push(...list());
        break;
      case '--dry-run':
        request.dryRun = true;
        break;
      default:
        if (flag.startsWith('-')) throw new UsageError(`unknown option ${flag}\n${USAGE}`);
        names.push(arg);
    }
  }
  if (names.length !== 1) throw new UsageError(`${names.length === 0 ? 'no service name given' : `one service name expected, got ${names.join(' ')}`}\n${USAGE}`);
  request.name = names[0]!;
  return request;
}

/**
 * Ports the platform itself uses (gateway, Istio sidecar and agent, the add-ons' port
 * forwards, Tilt): a service on one of them would collide in the pod or on the laptop.
 */
export const RESERVED_PORTS = new Set([
  3000, 3100, 4317, 4318, 5005, 8443, 9090, 9411, 10350, 15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090, 16686, 20001,
]);

/** Names that are not services: the shared package and words the repository uses for other things. */
const RESERVED_NAMES = new Set(['service-runtime', 'namespace', 'istio', 'mesh-config', 'cluster', 'tls-cert', 'observability', 'jaeger', 'prometheus', 'loki', 'grafana', 'kiali']);

/** A DNS label (Service, ServiceAccount, label values), also usable as an npm name and an env prefix. */
const NAME_PATTERN = /^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$/;

export function usedPorts(services: MeshService[]): Map<number, string> {
  const used = new Map<number, string>();
  for (const s of services) {
    used.set(s.port, `${s.name}'s port`);
    used.set(s.metricsPort, `${s.name}'s metricsPort`);
    used.set(s.debugPort, `${s.name}'s debugPort`);
  }
  return used;
}

/** Every reason the request cannot be generated (empty: it can). */
export function validateRequest(root: string, request: NewServiceRequest, services: MeshService[]): string[] {
  const problems: string[] = [];
  const { name } = request;
  const known = new Set(services.map((s) => s.name));
  if (!NAME_PATTERN.test(name) || name.includes('--')) {
    problems.push(`invalid name "${name}": use 1-30 lowercase letters, digits and single dashes, starting with a letter and not ending with a dash (it becomes a Kubernetes name and an npm package)`);
  } else if (RESERVED_NAMES.has(name) || name.endsWith('-v2')) {
    problems.push(`the name "${name}" is reserved (a Tilt resource, add-on or package of this repository uses it)`);
  } else {
    const taken = [`services/${name}`, `k8s/${name}.yaml`, `istio/mesh/${name}.yaml`].filter((p) => existsSync(path.join(root, p)));
    if (known.has(name)) problems.push(`a service named "${name}" already exists`);
    else if (taken.length > 0) problems.push(`"${name}" is taken: ${taken.join(', ')} already exist`);
  }
  if (request.port !== undefined) {
    const owner = usedPorts(services).get(request.port);
    if (request.port < 1024 || request.port > 65535) problems.push(`--port ${request.port} is not a port for an unprivileged process (1024-65535)`);
    else if (owner) problems.push(`--port ${request.port} is already used (${owner})`);
    else if (RESERVED_PORTS.has(request.port)) problems.push(`--port ${request.port} is reserved by the platform (gateway, sidecar, add-ons or Tilt)`);
  }
  for (const [flag, targets] of [['--calls', request.calls], ['--called-by', request.calledBy]] as const) {
    for (const target of targets) {
      if (target === name) problems.push(`${flag} ${target}: a service cannot call itself`);
      else if (!known.has(target)) problems.push(`${flag} ${target}: no such service (known: ${[...known].join(', ')})`);
    }
    if (new Set(targets).size !== targets.length) problems.push(`${flag} names a service twice`);
  }
  const both = request.calls.filter((c) => request.calledBy.includes(c));
  if (both.length > 0) problems.push(`${both.join(', ')} would both call and be called by ${name}: the Tiltfile starts callees first, so calls cannot form a cycle`);
  return problems;
}

/** The first port from `start` up that no service and nothing of the platform uses. */
export function firstFreePort(start: number, used: Set<number>): number {
  for (let port = start; port <= 65535; port += 1) {
    if (!used.has(port) && !RESERVED_PORTS.has(port)) return port;
  }
  throw new Error(`no free port from ${start}`);
}

/** port (given or next after 8080), metricsPort (next after 9464), debugPort (next after 9229): unique across services. */
export function pickPorts(request: NewServiceRequest, services: MeshService[]): { port: number; metricsPort: number; debugPort: number } {
  const used = new Set(usedPorts(services).keys());
  const port = request.port ?? firstFreePort(8080, used);
  used.add(port);
  const metricsPort = firstFreePort(9464, used);
  used.add(metricsPort);
  const debugPort = firstFreePort(9229, used);
  return { port, metricsPort, debugPort };
}
