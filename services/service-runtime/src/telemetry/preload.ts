/**
 * Loaded with `--import` before any app module, so the http, express and
 * undici instrumentations patch those modules before the app requires them
 * (CommonJS on purpose: ARCHITECTURE.md decisions 1 and 2).
 */
import { ConfigError } from '../config/env';
import { onTelemetryFlush } from './flush';
import { boundResolverTimeouts } from './resolver-timeouts';
import { readTelemetrySettings } from './settings';
import { startTracing } from './tracing';
import { runningUnderTsx, skipTsxLexerCheckOnResolve } from './tsx-resolve';

function start(): void {
  boundResolverTimeouts();
  // Before the instrumentations install their require hook (see tsx-resolve.ts).
  if (runningUnderTsx()) skipTsxLexerCheckOnResolve();
  try {
    const tracing = startTracing(readTelemetrySettings());
    onTelemetryFlush(() => tracing.shutdown());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`telemetry: ${error.message}\n`);
    process.exit(1);
  }
}

start();
