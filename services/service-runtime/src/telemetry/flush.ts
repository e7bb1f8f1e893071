/**
 * What must be flushed before the process exits (pending spans, buffered log
 * records). Tracing registers here from the preload, the logger when created;
 * the server lifecycle calls flushTelemetry on shutdown.
 */
/**
 * How long shutdown waits for the last spans and log records. A healthy
 * backend (Jaeger, Loki, on loopback or in the cluster) takes milliseconds;
 * one that is down, refusing or hanging would otherwise hold every restart
 * for the exporters' timeouts, and tsx watch only starts the edited code once
 * the old process is gone. Lines are also on stdout, and exports run every
 * second while the process lives, so at most the last second is at stake.
 */
export const TELEMETRY_FLUSH_BUDGET_MS = 500;

const flushers: Array<() => Promise<void>> = [];

export function onTelemetryFlush(flush: () => Promise<void>): void {
  flushers.push(flush);
}

/** Runs every flusher at once; gives up after `timeoutMs` (a backend may be down). */
export async function flushTelemetry(timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([Promise.allSettled(flushers.map((flush) => flush())), deadline]);
  clearTimeout(timer);
}
