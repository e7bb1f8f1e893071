import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';

/**
 * W3C tracecontext + baggage for the app, B3 multi-header (`x-b3-*`) for
 * Istio: its zipkin tracer reads and writes only B3. On extract, the last
 * propagator that finds a valid context wins; malformed headers are ignored by
 * every propagator, so the request simply starts a new trace.
 */
export function createPropagator(): CompositePropagator {
  return new CompositePropagator({
    propagators: [
      new W3CTraceContextPropagator(),
      new W3CBaggagePropagator(),
      new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
    ],
  });
}
