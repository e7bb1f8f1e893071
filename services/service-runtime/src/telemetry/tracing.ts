import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes, envDetector, detectResources } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { loadInstrumentations } from './instrumentations';
import { createPropagator } from './propagation';
import type { TelemetrySettings } from './settings';
import { createSpanProcessors } from './span-export';

export interface Tracing {
  /** Flushes pending spans and stops exporting; never rejects. */
  shutdown(): Promise<void>;
}

/** Exporter failures (backend down) reach stderr once a minute per kind, not per batch. */
function rateLimitedDiagLogger(): DiagLogger {
  const lastSeen = new Map<string, number>();
  const write = (message: string, ...args: unknown[]) => {
    const key = message.slice(0, 80);
    const now = Date.now();
    if ((lastSeen.get(key) ?? 0) > now - 60_000) return;
    lastSeen.set(key, now);
    process.stderr.write(`[otel] ${message} ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}\n`);
  };
  return { error: write, warn: write, info: () => {}, debug: () => {}, verbose: () => {} };
}

/**
 * Starts tracing before any app module loads (called from the preload).
 * `minimal`: a NodeTracerProvider with three instrumentation packages, the
 * fastest start. `all`: the OpenTelemetry NodeSDK with the whole
 * auto-instrumentations bundle. Both share exporter, propagator and resource.
 */
export function startTracing(settings: TelemetrySettings): Tracing {
  diag.setLogger(rateLimitedDiagLogger(), DiagLogLevel.WARN);
  // Only OTEL_RESOURCE_ATTRIBUTES (k8s pod/namespace from the Downward API):
  // host and cloud detectors cost start-up time and add nothing locally.
  const resource = detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.service.name,
      [ATTR_SERVICE_VERSION]: settings.service.version,
    }),
  );
  const spanProcessors = createSpanProcessors(settings.zipkinEndpoint, settings.service.name);
  const propagator = createPropagator();
  const instrumentations = loadInstrumentations(settings.instrumentations, { postgres: settings.usesPostgres });

  if (settings.instrumentations === 'all') {
    // NodeSDK would also start OTLP metric and log exporters from env defaults.
    process.env.OTEL_METRICS_EXPORTER ??= 'none';
    process.env.OTEL_LOGS_EXPORTER ??= 'none';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
    const sdk = new NodeSDK({ resource, spanProcessors, textMapPropagator: propagator, instrumentations, autoDetectResources: false });
    sdk.start();
    return { shutdown: () => sdk.shutdown().catch(() => undefined) };
  }

  const provider = new NodeTracerProvider({ resource, spanProcessors });
  provider.register({ propagator });
  registerInstrumentations({ tracerProvider: provider, instrumentations });
  return { shutdown: () => provider.shutdown().catch(() => undefined) };
}
