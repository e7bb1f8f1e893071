import { EnvReader, readProcessConfig, type Env, type ProcessConfig } from '@meshloop/service-runtime';

export interface BusinessLogicConfig extends ProcessConfig {
  /** Multiplies every /slow delay; the v2 canary runs faster with 0.25. */
  slowDelayScale: number;
}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: Env = process.env): BusinessLogicConfig {
  const reader = new EnvReader(env);
  const config: BusinessLogicConfig = {
    ...readProcessConfig(reader, env, { port: 8081, metricsPort: 9465 }),
    slowDelayScale: reader.number('SLOW_DELAY_SCALE', 1, { min: 0, max: 10 }),
  };
  reader.done();
  return config;
}
