import { createLogger, createServiceMetrics, Readiness, type ServiceIdentity } from '@meshloop/service-runtime';
import type { Express } from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** What an app.ts needs, for a unit test: a silent logger, fresh metrics, readiness. */
export function appDeps(name: string) {
  const service: ServiceIdentity = { name, version: 'v1', hostname: 'test-host' };
  return {
    service,
    logger: createLogger({ service, level: 'silent' }),
    metrics: createServiceMetrics(),
    readiness: new Readiness(),
  };
}

/** Serves an express app on a free loopback port for the test's duration. */
export async function listen(app: Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
