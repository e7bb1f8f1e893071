import type { Env, EnvReader } from './env';
import type { ServiceIdentity } from './identity';
import { readTelemetrySettings } from '../telemetry/settings';

/** What every service process needs, whatever its routes do. */
export interface ProcessConfig {
  service: ServiceIdentity;
  port: number;
  metricsPort: number;
  logLevel: string;
  otlpLogsEndpoint: string | undefined;
  /** Read here only to say at start whether spans are exported (the preload exports them). */
  zipkinEndpoint: string | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** PORT, METRICS_PORT (with the service's documented defaults), LOG_LEVEL, identity, OTLP logs endpoint. */
export function readProcessConfig(reader: EnvReader, env: Env, defaults: { port: number; metricsPort: number }): ProcessConfig {
  // Identity and the logs endpoint are part of the telemetry settings: read them once.
  const telemetry = readTelemetrySettings(env);
  return {
    service: telemetry.service,
    port: reader.port('PORT', defaults.port),
    metricsPort: reader.port('METRICS_PORT', defaults.metricsPort),
    logLevel: reader.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    otlpLogsEndpoint: telemetry.otlpLogsEndpoint,
    zipkinEndpoint: telemetry.zipkinEndpoint,
  };
}
