import { EnvReader, readProcessConfig, type Env, type ProcessConfig } from '@meshloop/service-runtime';

export interface FrontendConfig extends ProcessConfig {
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
    ...readProcessConfig(reader, env, { port: 8080, metricsPort: 9464 }),
    businessLogicUrl: reader.url('BUSINESS_LOGIC_URL', 'http://localhost:8081'),
    downstreamTimeoutMs: reader.integer('DOWNSTREAM_TIMEOUT_MS', 5000, { min: 1, max: 60_000 }),
    jaegerUiUrl: reader.url('JAEGER_UI_URL', 'http://localhost:16686'),
  };
  reader.done();
  return config;
}
