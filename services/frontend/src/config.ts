import { EnvReader, readServiceIdentity, readTelemetrySettings, type Env, type ServiceIdentity } from '@meshloop/service-runtime';

export interface FrontendConfig {
  service: ServiceIdentity;
  port: number;
  metricsPort: number;
  logLevel: string;
  otlpLogsEndpoint: string | undefined;
  businessLogicUrl: string;
  /** One call to business-logic; past it the answer is 504. */
  downstreamTimeoutMs: number;
  /** Where the landing page links trace ids. */
  jaegerUiUrl: string;
}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: Env = process.env): FrontendConfig {
  const reader = new EnvReader(env);
  const config: FrontendConfig = {
    service: readServiceIdentity(env),
    port: reader.port('PORT', 8080),
    metricsPort: reader.port('METRICS_PORT', 9464),
    logLevel: reader.oneOf('LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    otlpLogsEndpoint: readTelemetrySettings(env).otlpLogsEndpoint,
    businessLogicUrl: reader.url('BUSINESS_LOGIC_URL', 'http://localhost:8081'),
    downstreamTimeoutMs: reader.integer('DOWNSTREAM_TIMEOUT_MS', 5000, { min: 1, max: 60_000 }),
    jaegerUiUrl: reader.url('JAEGER_UI_URL', 'http://localhost:16686'),
  };
  reader.done();
  return config;
}
