import { describe, expect, it } from 'vitest';
import { ConfigError, EnvReader, readTelemetrySettings } from '@meshloop/service-runtime';

function problems(run: () => void): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('EnvReader', () => {
  it('uses the default when a variable is unset or blank', () => {
    const reader = new EnvReader({ BLANK: '  ' });
    expect(reader.port('PORT', 8080)).toBe(8080);
    expect(reader.port('BLANK', 1)).toBe(1);
    expect(reader.string('NAME', 'x')).toBe('x');
    reader.done();
  });

  it('reads valid values', () => {
    const reader = new EnvReader({ PORT: '9000', SCALE: '0.25', MODE: 'all', URL: 'http://a:1/x/' });
    expect(reader.port('PORT', 1)).toBe(9000);
    expect(reader.number('SCALE', 1, { min: 0, max: 1 })).toBe(0.25);
    expect(reader.oneOf('MODE', 'minimal', ['minimal', 'all'])).toBe('all');
    expect(reader.url('URL', 'http://b')).toBe('http://a:1/x');
    reader.done();
  });

  it('names every bad variable at once', () => {
    const found = problems(() => {
      const reader = new EnvReader({ PORT: 'eighty', METRICS_PORT: '70000', SCALE: 'NaN', MODE: 'some', URL: 'ftp://x', TIMEOUT: '1.5' });
      reader.port('PORT', 1);
      reader.port('METRICS_PORT', 1);
      reader.number('SCALE', 1, { min: 0, max: 1 });
      reader.oneOf('MODE', 'minimal', ['minimal', 'all']);
      reader.optionalUrl('URL');
      reader.integer('TIMEOUT', 1, { min: 1, max: 10 });
      reader.done();
    });
    expect(found).toHaveLength(6);
    for (const name of ['PORT', 'METRICS_PORT', 'SCALE', 'MODE', 'URL', 'TIMEOUT']) {
      expect(found.some((problem) => problem.startsWith(`${name} `))).toBe(true);
    }
  });
});

describe('telemetry settings', () => {
  it('uses OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as given', () => {
    expect(readTelemetrySettings({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://loki:3100/otlp/v1/logs', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other' }).otlpLogsEndpoint).toBe(
      'http://loki:3100/otlp/v1/logs',
    );
  });

  it('appends /v1/logs to OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(readTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://loki:3100/otlp/' }).otlpLogsEndpoint).toBe('http://loki:3100/otlp/v1/logs');
  });

  it('exports nothing when no endpoint is set, and loads the minimal instrumentation set by default', () => {
    const settings = readTelemetrySettings({ OTEL_SERVICE_NAME: 'svc' });
    expect(settings).toMatchObject({ zipkinEndpoint: undefined, otlpLogsEndpoint: undefined, instrumentations: 'minimal' });
    expect(settings.service.name).toBe('svc');
    expect(settings.service.version).toBe('v1');
  });

  it('rejects a bad exporter URL or instrumentation set by name', () => {
    const found = problems(() => readTelemetrySettings({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'jaeger:9411', MESHLOOP_INSTRUMENTATIONS: 'some' }));
    expect(found.join('\n')).toMatch(/OTEL_EXPORTER_ZIPKIN_ENDPOINT/);
    expect(found.join('\n')).toMatch(/MESHLOOP_INSTRUMENTATIONS/);
  });
});
