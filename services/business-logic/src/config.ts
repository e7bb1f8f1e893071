import { EnvReader, readServiceIdentity, readTelemetrySettings, type Env, type ServiceIdentity } from '@meshloop/service-runtime';

export interface BusinessLogicConfig {
  service: ServiceIdentity;
  port: number;
  metricsPort: number;
  logLevel: string;
  otlpLogsEndpoint: string | undefined;
  /** Multiplies every /slow delay; the v2 canary runs faster with 0.25. */
  slowDelayScale: number;
}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: Env = process.env): BusinessLogicConfig {
  const reader = new EnvReader(env);
  const config: BusinessLogicConfig = {
    service: readServiceIdentity(env),
    port: reader.port('PORT', 8081),
    metricsPort: reader.port('METRICS_PORT', 9465),
    logLevel: reader.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    otlpLogsEndpoint: readTelemetrySettings(env).otlpLogsEndpoint,
    slowDelayScale: reader.number('SLOW_DELAY_SCALE', 1, { min: 0, max: 10 }),
  };
  reader.done();
  return config;
}
