import { EnvReader, readProcessConfig, type Env, type ProcessConfig } from '@meshloop/service-runtime';

/** Where results are stored (docs/data.md). Absent: storage is off, /history answers 503. */
export interface DatabaseConfig {
  /** postgres:// URL; the password may come from PGPASSWORD instead (pg reads it). */
  url: string;
  /** Connections the pool opens at most. */
  poolMax: number;
  /** Requests allowed to wait for a connection; beyond that they get 503 at once. */
  poolMaxWaiting: number;
  /** Bound on opening a connection and on waiting for a pooled one. */
  connectTimeoutMs: number;
  /** Bound on one query (client side and statement_timeout). */
  queryTimeoutMs: number;
}

export interface BusinessLogicConfig extends ProcessConfig {
  /** Multiplies every /slow delay; the v2 canary runs faster with 0.25. */
  slowDelayScale: number;
  database: DatabaseConfig | undefined;
}

function readDatabaseConfig(reader: EnvReader): DatabaseConfig | undefined {
  const url = reader.optionalSecretUrl('DATABASE_URL', ['postgres:', 'postgresql:']);
  const settings = {
    poolMax: reader.integer('DB_POOL_MAX', 5, { min: 1, max: 50 }),
    poolMaxWaiting: reader.integer('DB_POOL_MAX_WAITING', 50, { min: 0, max: 10_000 }),
    connectTimeoutMs: reader.integer('DB_CONNECT_TIMEOUT_MS', 1000, { min: 50, max: 60_000 }),
    queryTimeoutMs: reader.integer('DB_QUERY_TIMEOUT_MS', 2000, { min: 50, max: 60_000 }),
  };
  return url === undefined ? undefined : { url, ...settings };
}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: Env = process.env): BusinessLogicConfig {
  const reader = new EnvReader(env);
  const config: BusinessLogicConfig = {
    ...readProcessConfig(reader, env, { port: 8081, metricsPort: 9465 }),
    slowDelayScale: reader.number('SLOW_DELAY_SCALE', 1, { min: 0, max: 10 }),
    database: readDatabaseConfig(reader),
  };
  reader.done();
  return config;
}
