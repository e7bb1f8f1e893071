import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('business-logic');

export interface TransformationResult {
  records: number;
  checksum: number;
}

/** Stands in for real work: waits `delayMs` (an I/O call), then folds some records. */
async function transform(delayMs: number): Promise<TransformationResult> {
  await sleep(delayMs);
  let checksum = 0;
  const records = 1000;
  for (let i = 0; i < records; i += 1) checksum = (checksum * 31 + i) % 1_000_003;
  return { records, checksum };
}

/**
 * The slow path, inside its own `data-transformation` span so the trace shows
 * where the time goes (the span a developer looks for in Jaeger).
 */
export function runDataTransformation(delayMs: number): Promise<TransformationResult> {
  return tracer.startActiveSpan('data-transformation', { attributes: { 'work.delay_ms': delayMs } }, async (span) => {
    try {
      const result = await transform(delayMs);
      span.setAttribute('work.records', result.records);
      return result;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
