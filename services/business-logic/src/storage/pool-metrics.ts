import type { ServiceMetrics } from '@meshloop/service-runtime';
import { Gauge } from 'prom-client';
import type { Storage } from './storage';

/**
 * The pool on the metrics port, read at scrape time. Names follow
 * OpenTelemetry's db.client.connection.* metrics in Prometheus form.
 */
export function registerPoolMetrics({ registry }: ServiceMetrics, storage: Storage, poolMax: number): void {
  new Gauge({
    name: 'db_client_connection_count',
    help: 'PostgreSQL pool connections, by state (used: running a query; idle: open and free).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const pool = storage.pool;
      this.set({ state: 'used' }, pool ? pool.totalCount - pool.idleCount : 0);
      this.set({ state: 'idle' }, pool ? pool.idleCount : 0);
    },
  });
  new Gauge({
    name: 'db_client_connection_pending_requests',
    help: 'Requests waiting for a PostgreSQL pool connection.',
    registers: [registry],
    collect() {
      this.set(storage.pool?.waitingCount ?? 0);
    },
  });
  new Gauge({
    name: 'db_client_connection_max',
    help: 'Most connections the PostgreSQL pool opens.',
    registers: [registry],
    collect() {
      this.set(storage.pool ? poolMax : 0);
    },
  });
  new Gauge({
    name: 'storage_available',
    help: '1 when results can be stored and read (PostgreSQL reachable and migrated), else 0.',
    registers: [registry],
    collect() {
      this.set(storage.state === 'ready' ? 1 : 0);
    },
  });
}
