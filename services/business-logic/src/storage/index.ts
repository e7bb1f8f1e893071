import type { Logger } from 'pino';
import type { Readiness, ServiceMetrics } from '@meshloop/service-runtime';
import type { BusinessLogicConfig } from '../config';
import { registerPoolMetrics } from './pool-metrics';
import { disabledStorage, PostgresStorage, STORAGE_DISABLED_MESSAGE, type Storage } from './storage';

export { disabledStorage, PostgresStorage, type NewResult, type Storage, type StorageState, type StoredResult } from './storage';

/**
 * Storage as the config says: PostgreSQL when DATABASE_URL is set, else off
 * (said once in the log). Reported on /readyz and on the metrics port.
 */
export function createStorage(
  config: Pick<BusinessLogicConfig, 'database' | 'service'>,
  { logger, metrics, readiness }: { logger: Logger; metrics: ServiceMetrics; readiness: Readiness },
): Storage {
  const storage = config.database ? new PostgresStorage(config.database, logger, config.service.name).start() : disabledStorage();
  if (!config.database) logger.warn(STORAGE_DISABLED_MESSAGE);
  readiness.reportDependency('postgres', () => storage.state);
  registerPoolMetrics(metrics, storage, config.database?.poolMax ?? 0);
  return storage;
}
