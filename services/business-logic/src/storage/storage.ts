import { HttpError } from '@meshloop/service-runtime';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config';
import { runMigrations } from './migrate';

export type StorageState = 'disabled' | 'connecting' | 'ready' | 'unavailable';

export interface NewResult {
  serviceVersion: string;
  hostname: string;
  traceId: string | undefined;
  requestedDelayMs: number;
  delayMs: number;
  records: number;
  checksum: number;
}

export interface StoredResult extends NewResult {
  id: number;
  createdAt: string;
}

/** What the routes need from storage; `disabled` when DATABASE_URL is unset. */
export interface Storage {
  readonly state: StorageState;
  readonly pool: Pool | undefined;
  /** Throws a 503 HttpError unless storage can take a query now. */
  assertAvailable(): void;
  save(result: NewResult): Promise<number>;
  latest(limit: number): Promise<StoredResult[]>;
  close(): Promise<void>;
}

export const STORAGE_DISABLED_MESSAGE = 'storage disabled: DATABASE_URL is not set (docs/data.md says how to turn it on)';

/** Storage off: /slow still works (nothing stored), /history answers 503 storage_disabled. */
export function disabledStorage(): Storage {
  const refuse = (): never => {
    throw new HttpError(503, 'storage_disabled', STORAGE_DISABLED_MESSAGE);
  };
  return {
    state: 'disabled',
    pool: undefined,
    assertAvailable: refuse,
    save: async () => refuse(),
    latest: async () => refuse(),
    close: async () => undefined,
  };
}

/**
 * Errors that mean "the database cannot be reached right now" rather than a
 * bug in a query: network errors, timeouts, and PostgreSQL's connection
 * (08xxx) and shutdown (57Pxx) classes.
 */
export function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^(08|57P)/.test(code) || /^E[A-Z]+$/.test(code))) return true;
  return typeof message === 'string' && /timeout|terminated|Connection|ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/i.test(message);
}

const UNREACHABLE_MESSAGE = 'storage unavailable: PostgreSQL cannot be reached; reconnecting in the background';
const unreachable = () => new HttpError(503, 'storage_unavailable', UNREACHABLE_MESSAGE);

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 1000;

const INSERT = `INSERT INTO transformation_results
  (service_version, hostname, trace_id, requested_delay_ms, delay_ms, records, checksum)
  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`;
const LATEST = `SELECT id, created_at, service_version, hostname, trace_id, requested_delay_ms, delay_ms, records, checksum
  FROM transformation_results ORDER BY id DESC LIMIT $1`;

interface ResultRow {
  id: string;
  created_at: Date;
  service_version: string;
  hostname: string;
  trace_id: string | null;
  requested_delay_ms: number;
  delay_ms: number;
  records: number;
  checksum: string;
}

/**
 * PostgreSQL storage with a bounded pool. It never blocks start-up: the
 * schema is migrated in the background, and whenever the database cannot be
 * reached the state turns `unavailable`, queries fail fast with a 503, and a
 * background loop reconnects (and migrates, if that never happened) until it
 * is back. Requests never queue beyond `poolMaxWaiting`.
 */
export class PostgresStorage implements Storage {
  readonly pool: Pool;
  private current: StorageState = 'connecting';
  private migrated = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  private closed = false;
  private checking = false;
  /** One warning per outage, not one per retry. */
  private outageReported = false;

  constructor(
    private readonly config: DatabaseConfig,
    private readonly logger: Logger,
    applicationName: string,
  ) {
    this.pool = new Pool({
      connectionString: config.url,
      max: config.poolMax,
      connectionTimeoutMillis: config.connectTimeoutMs,
      idleTimeoutMillis: 10_000,
      // The server cancels a slow statement (503 storage_timeout, server fine); the
      // client gives up a second later only if the server stopped answering at all.
      statement_timeout: config.queryTimeoutMs,
      query_timeout: config.queryTimeoutMs + 1000,
      application_name: applicationName,
    });
    // An idle client whose server went away emits here; unhandled, it would crash the process.
    this.pool.on('error', (error) => this.markUnavailable(error));
  }

  get state(): StorageState {
    return this.current;
  }

  /** Starts the first connection and migration in the background. */
  start(): this {
    void this.check();
    return this;
  }

  assertAvailable(): void {
    if (this.current === 'connecting') {
      throw new HttpError(503, 'storage_unavailable', 'storage unavailable: connecting to PostgreSQL and migrating the schema');
    }
    if (this.current === 'unavailable') throw unreachable();
    if (this.pool.waitingCount >= this.config.poolMaxWaiting) {
      throw new HttpError(503, 'storage_busy', `storage busy: ${this.pool.waitingCount} requests already wait for a database connection`);
    }
  }

  async save(result: NewResult): Promise<number> {
    const { rows } = await this.query<{ id: string }>(INSERT, [
      result.serviceVersion,
      result.hostname,
      result.traceId ?? null,
      result.requestedDelayMs,
      result.delayMs,
      result.records,
      result.checksum,
    ]);
    return Number(rows[0]?.id);
  }

  async latest(limit: number): Promise<StoredResult[]> {
    const { rows } = await this.query<ResultRow>(LATEST, [limit]);
    return rows.map((row) => ({
      id: Number(row.id),
      createdAt: row.created_at.toISOString(),
      serviceVersion: row.service_version,
      hostname: row.hostname,
      traceId: row.trace_id ?? undefined,
      requestedDelayMs: row.requested_delay_ms,
      delayMs: row.delay_ms,
      records: row.records,
      checksum: Number(row.checksum),
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.pool.end().catch(() => undefined);
  }

  private async query<R extends object>(text: string, values: unknown[]) {
    this.assertAvailable();
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      // statement_timeout: the server is up, this query was too slow.
      if ((error as { code?: unknown }).code === '57014') {
        throw new HttpError(503, 'storage_timeout', 'storage timeout: the query took longer than DB_QUERY_TIMEOUT_MS');
      }
      if (!isConnectionError(error)) throw error;
      this.markUnavailable(error);
      throw unreachable();
    }
  }

  private markUnavailable(error: unknown): void {
    if (this.closed) return;
    this.reportOutage(error);
    this.current = this.current === 'connecting' ? 'connecting' : 'unavailable';
    this.scheduleCheck();
  }

  private reportOutage(error: unknown): void {
    if (this.outageReported) return;
    this.outageReported = true;
    if (isConnectionError(error)) this.logger.warn({ err: error }, UNREACHABLE_MESSAGE);
    // Not the network: a wrong password, a refused or edited migration... retried all the same.
    else this.logger.error({ err: error }, 'storage unavailable: PostgreSQL refused the connection or a migration; retrying in the background');
  }

  private scheduleCheck(): void {
    if (this.closed || this.retryTimer !== undefined || this.checking) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.check();
    }, this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
  }

  /** One attempt: migrate if never done, else a trivial query; ready on success. */
  private async check(): Promise<void> {
    if (this.closed || this.checking) return;
    this.checking = true;
    try {
      if (!this.migrated) {
        const applied = await runMigrations(this.pool, this.logger);
        this.migrated = true;
        this.logger.info({ applied }, applied.length > 0 ? 'storage: migrations applied' : 'storage: schema up to date');
      } else {
        await this.pool.query('SELECT 1');
      }
      if (this.current !== 'ready') this.logger.info('storage ready: PostgreSQL reachable');
      this.current = 'ready';
      this.outageReported = false;
      this.retryDelayMs = RETRY_MIN_MS;
    } catch (error) {
      this.reportOutage(error);
      if (this.current === 'ready') this.current = 'unavailable';
      this.checking = false;
      this.scheduleCheck();
      return;
    }
    this.checking = false;
  }
}
