import { describe, expect, it } from 'vitest';
import { ConfigError } from '@meshloop/service-runtime';
import { loadConfig } from '../src/config';

describe('business-logic config', () => {
  it('has documented defaults', () => {
    expect(loadConfig({})).toMatchObject({ port: 8081, metricsPort: 9465, logLevel: 'info', slowDelayScale: 1, otlpLogsEndpoint: undefined });
  });

  it('reads the environment contract', () => {
    const config = loadConfig({ PORT: '1', METRICS_PORT: '2', LOG_LEVEL: 'debug', SLOW_DELAY_SCALE: '0.25', SERVICE_VERSION: 'v2', OTEL_SERVICE_NAME: 'bl' });
    expect(config).toMatchObject({ port: 1, metricsPort: 2, logLevel: 'debug', slowDelayScale: 0.25, service: { name: 'bl', version: 'v2' } });
  });

  it('rejects bad values, naming each variable', () => {
    expect(() => loadConfig({ PORT: 'x', SLOW_DELAY_SCALE: '-1', LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'x', SLOW_DELAY_SCALE: '-1', LOG_LEVEL: 'loud' });
    } catch (error) {
      expect((error as ConfigError).message).toMatch(/PORT[\s\S]*LOG_LEVEL[\s\S]*SLOW_DELAY_SCALE/);
    }
  });
});

describe('business-logic config: DATABASE_URL', () => {
  it('storage is off without DATABASE_URL', () => {
    expect(loadConfig({}).database).toBeUndefined();
  });

  it('reads DATABASE_URL and the pool bounds, with defaults', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://meshloop@postgres:5432/meshloop' }).database).toEqual({
      url: 'postgres://meshloop@postgres:5432/meshloop',
      poolMax: 5,
      poolMaxWaiting: 50,
      connectTimeoutMs: 1000,
      queryTimeoutMs: 2000,
    });
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h/db', DB_POOL_MAX: '2', DB_QUERY_TIMEOUT_MS: '500' }).database).toMatchObject({ poolMax: 2, queryTimeoutMs: 500 });
  });

  it('rejects a DATABASE_URL that is not postgres:// without echoing it (it may hold a password)', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:secret-pw@h/db' })).toThrow(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url secret-pw' })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:secret-pw@h/db' });
    } catch (error) {
      expect((error as ConfigError).message).not.toContain('secret-pw');
    }
  });

  it.each([['DB_POOL_MAX', '0'], ['DB_POOL_MAX', '51'], ['DB_POOL_MAX_WAITING', '-1'], ['DB_QUERY_TIMEOUT_MS', 'soon']])('rejects %s=%s', (name, value) => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://h/db', [name]: value })).toThrow(name);
  });
});
