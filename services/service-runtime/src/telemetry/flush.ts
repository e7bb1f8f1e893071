/**
 * What must be flushed before the process exits (pending spans, buffered log
 * records). Tracing registers here from the preload, the logger when created;
 * the server lifecycle calls flushTelemetry on shutdown.
 */
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
