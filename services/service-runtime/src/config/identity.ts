import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnvReader, type Env } from './env';

/** Who this process is, for logs, spans, metrics and answers. */
export interface ServiceIdentity {
  name: string;
  version: string;
  hostname: string;
}

/**
 * `OTEL_SERVICE_NAME`, else the unscoped name of the package the process was
 * started in (npm scripts run in the service folder; so does the container).
 */
function defaultServiceName(cwd: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { name?: unknown };
    if (typeof pkg.name === 'string') return pkg.name.replace(/^@[^/]+\//, '');
  } catch {
    // no package.json here: fall through to OpenTelemetry's own default name
  }
  return 'unknown_service:node';
}

export function readServiceIdentity(env: Env = process.env, cwd = process.cwd()): ServiceIdentity {
  const reader = new EnvReader(env);
  const identity = {
    name: reader.string('OTEL_SERVICE_NAME', defaultServiceName(cwd)),
    version: reader.string('SERVICE_VERSION', 'v1'),
    hostname: os.hostname(),
  };
  reader.done();
  return identity;
}
