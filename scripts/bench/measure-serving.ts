import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startService, type ServiceProcess } from '../../test/support/services';
import { tarSync } from '../../test/support/tar-sync';
import { rssKiB, servingProcess } from './processes';
import type { Variant } from './variants';

export interface RunningVariant {
  variant: Variant;
  dir: string;
  process: ServiceProcess<string>;
}

export interface StartContext {
  /** env every variant gets (telemetry sink endpoints). */
  env: Record<string, string>;
  businessLogicUrl: string | undefined;
}

function variantEnv(variant: Variant, context: StartContext): Record<string, string> {
  return {
    ...context.env,
    ...(variant.callsBusinessLogic && context.businessLogicUrl ? { BUSINESS_LOGIC_URL: context.businessLogicUrl } : {}),
    ...variant.env,
  };
}

/** Starts a variant's dev script (tsx watch) and waits for its first 200 on the probe path. */
export async function startVariant(variant: Variant, dir: string, context: StartContext): Promise<{ running: RunningVariant; coldStartMs: number; rssKiB: number }> {
  const started = performance.now();
  const process = await startService(variant.name, {
    dir,
    mode: 'watch',
    env: variantEnv(variant, context),
    readyPath: variant.probePath,
    readyPollMs: 5,
    readyTimeoutMs: 60_000,
    // Access logs are written (full telemetry) but not parsed by this process,
    // which also runs the load generator.
    discardStdout: true,
  });
  const coldStartMs = performance.now() - started;
  return { running: { variant, dir, process }, coldStartMs, rssKiB: rssKiB(servingProcess(process.child.pid!)) };
}

/** The served answer, or undefined while the process restarts. */
async function served(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url);
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}

async function waitUntilServed(url: string, accept: (body: string) => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const body = await served(url);
    if (body !== undefined && accept(body)) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${what} not served within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * One edit as a developer (or Tilt's sync) makes it, timed until the served
 * answer shows it. `rename`: write a temp file and rename it over the source
 * (many editors); `tar`: Tilt's live update (`tar -x` unlinks the file and
 * creates a new one); otherwise overwrite in place.
 */
export type EditStyle = 'rename' | 'in-place' | 'tar';

export async function measureEdit(running: RunningVariant, style: EditStyle, timeoutMs = 20_000): Promise<number> {
  const { variant, dir, process } = running;
  const file = path.join(dir, variant.edit.file);
  const original = readFileSync(file, 'utf8');
  const base = original.includes(variant.edit.from) ? original : undefined;
  if (!base) throw new Error(`${variant.name}: ${variant.edit.file} lost "${variant.edit.from}"`);
  const marker = `m${randomBytes(4).toString('hex')}`;
  const edited = base.replace(variant.edit.from, variant.edit.to(marker));
  const url = `${process.url}${variant.probePath}`;
  const write = () => {
    if (style === 'rename') {
      writeFileSync(`${file}.tmp`, edited);
      renameSync(`${file}.tmp`, file);
    } else if (style === 'tar') {
      tarSync(dir, { [variant.edit.file]: edited });
    } else {
      writeFileSync(file, edited);
    }
  };
  write();
  const elapsed = await waitUntilServed(url, (body) => body.includes(marker), timeoutMs, `${variant.name}: the edit`).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${process.output().slice(-2000)}`);
  });
  // Put the original back (the next edit starts from it) and wait until it is served again.
  if (style === 'tar') tarSync(dir, { [variant.edit.file]: original });
  else writeFileSync(file, original);
  await waitUntilServed(url, (body) => !body.includes(marker), timeoutMs, `${variant.name}: the restored file`);
  return elapsed;
}
