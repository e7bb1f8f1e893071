import { Router } from 'express';

/** Readiness of the process: true until shutdown begins. */
export class Readiness {
  private shuttingDown = false;

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
    if (readiness.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'shutting_down' });
  });
  return router;
}
