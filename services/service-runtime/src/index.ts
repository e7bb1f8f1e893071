/** What every meshloop service shares: config readers, logging, metrics, HTTP lifecycle. */
export { ConfigError, EnvReader, type Env } from './config/env';
export { readServiceIdentity, type ServiceIdentity } from './config/identity';
export { readProcessConfig, type ProcessConfig } from './config/process-config';
export { accessLog, requestIdOf } from './logging/access-log';
export { createLogger, type Logger, type LoggerOptions } from './logging/logger';
export { createMetricsApp } from './metrics/metrics-app';
export { createServiceMetrics, EXEMPLAR_TRACE_LABEL, type ServiceMetrics } from './metrics/registry';
export { requestMetrics } from './metrics/request-metrics';
export { badRequest, errorHandler, HttpError, notFound } from './http/errors';
export { DownstreamClient, type DownstreamCall } from './http/downstream-client';
export { integerQuery } from './http/query';
export { failRateOf } from './http/fail-rate';
export { healthRoutes, Readiness, type DependencyStatus } from './http/health';
export { logExportsOff, runMain, runService, serve, type AppDeps, type RunningService, type ServeOptions } from './http/lifecycle';
export { createServiceApp, type ServiceAppDeps } from './http/service-app';
export { readTelemetrySettings, type TelemetrySettings } from './telemetry/settings';
