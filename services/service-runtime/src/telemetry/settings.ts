import { EnvReader, type Env } from '../config/env';
import { readServiceIdentity, type ServiceIdentity } from '../config/identity';

export type InstrumentationSet = 'minimal' | 'all';

/** Where telemetry goes, read once from the environment (docs/service-contract.md). */
export interface TelemetrySettings {
  service: ServiceIdentity;
  /** Zipkin v2 spans endpoint; unset: spans exist (ids in logs, exemplars) but are not exported. */
  zipkinEndpoint: string | undefined;
  /** OTLP/HTTP logs endpoint; unset: logs go to stdout only. */
  otlpLogsEndpoint: string | undefined;
  instrumentations: InstrumentationSet;
  /** DATABASE_URL is set: the service talks to PostgreSQL, so `minimal` adds the pg instrumentation. */
  usesPostgres: boolean;
}

export function readTelemetrySettings(env: Env = process.env): TelemetrySettings {
  const reader = new EnvReader(env);
  const logsEndpoint = reader.optionalUrl('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT');
  const genericEndpoint = reader.optionalUrl('OTEL_EXPORTER_OTLP_ENDPOINT');
  const settings: TelemetrySettings = {
    service: readServiceIdentity(env),
    zipkinEndpoint: reader.optionalUrl('OTEL_EXPORTER_ZIPKIN_ENDPOINT'),
    // The per-signal variable is used as given; the generic one gets the
    // signal path appended, as the OpenTelemetry spec says.
    otlpLogsEndpoint: logsEndpoint ?? (genericEndpoint ? `${genericEndpoint}/v1/logs` : undefined),
    instrumentations: reader.oneOf('MESHLOOP_INSTRUMENTATIONS', 'minimal', ['minimal', 'all'] as const),
    usesPostgres: reader.optionalString('DATABASE_URL') !== undefined,
  };
  reader.done();
  return settings;
}
