import path from 'node:path';
import type { Pool } from 'pg';
import { migrate } from 'postgres-migrations';
import type { Logger } from 'pino';

/**
 * Next to this file in src/ (tsx) and in dist/ (the build copies it): numbered
 * SQL files, each run once, in order (postgres-migrations' naming: 1_name.sql).
 */
export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/**
 * Brings the schema up to date. Idempotent: applied migrations are recorded
 * (with a hash, so an edited one is refused) and skipped; an advisory lock
 * lets v1 and v2 start at once without racing. One connection, as the lock needs.
 */
export async function runMigrations(pool: Pool, logger: Logger): Promise<string[]> {
  const client = await pool.connect();
  try {
    const applied = await migrate({ client }, MIGRATIONS_DIR, { logger: (message) => logger.debug({ migrations: message }, 'migrations') });
    return applied.map((migration) => migration.fileName);
  } finally {
    client.release();
  }
}
