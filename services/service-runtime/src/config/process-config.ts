import type { Env, EnvReader } from './env';
import { readServiceIdentity, type ServiceIdentity } from './identity';
import { readTelemetrySettings } from '../telemetry/settings';

/** What every service process needs, whatever its routes do. */
export interface ProcessConfig {
  service: ServiceIdentity;
  port: number;
  metricsPort: number;
  logLevel: string;
  otlpLogsEndpoint: string | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** PORT, METRICS_PORT (with the service's documented defaults), LOG_LEVEL, identity, OTLP logs endpoint. */
export function readProcessConfig(reader: EnvReader, env: Env, defaults: { port: number; metricsPort: number }): ProcessConfig {
  return {
    service: readServiceIdentity(env),
    port: reader.port('PORT', defaults.port),
    metricsPort: reader.port('METRICS_PORT', defaults.metricsPort),
    logLevel: reader.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    otlpLogsEndpoint: readTelemetrySettings(env).otlpLogsEndpoint,
  };
}
