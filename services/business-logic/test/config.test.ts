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
