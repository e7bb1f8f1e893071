import { Router } from 'express';

/** What a dependency reports on /readyz, e.g. `{ postgres: 'unavailable' }`. */
export type DependencyStatus = () => string;

/**
 * Readiness of the process: true until shutdown begins. Dependencies are
 * reported on /readyz but do not make it fail: a service that still answers
 * some routes without them keeps taking traffic (the routes that need them
 * answer 503 themselves).
 */
export class Readiness {
  private shuttingDown = false;
  private readonly dependencies = new Map<string, DependencyStatus>();

  reportDependency(name: string, status: DependencyStatus): void {
    this.dependencies.set(name, status);
  }

  /** Each dependency's current status, or undefined when there is none. */
  dependencyStatus(): Record<string, string> | undefined {
    if (this.dependencies.size === 0) return undefined;
    return Object.fromEntries([...this.dependencies].map(([name, status]) => [name, status()]));
  }

  get ready(): boolean {
    return !this.shuttingDown;
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }
}

/** `/livez`: the process runs. `/readyz`: it takes traffic (503 while shutting down). */
export function healthRoutes(readiness: Readiness): Router {
  const router = Router();
  router.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const dependencies = readiness.dependencyStatus();
    if (readiness.ready) res.json({ status: 'ready', ...(dependencies && { dependencies }) });
    else res.status(503).json({ status: 'shutting_down', ...(dependencies && { dependencies }) });
  });
  return router;
}
