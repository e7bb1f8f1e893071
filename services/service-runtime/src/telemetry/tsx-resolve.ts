import Module from 'node:module';

type ResolveFilename = (request: string, parent: unknown, isMain?: boolean, ...rest: unknown[]) => string;

/** True when tsx's loader runs in this process (`tsx watch`, `--import tsx`). */
export function runningUnderTsx(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((arg) => arg === 'tsx' || /[\\/]tsx[\\/]dist[\\/]/.test(arg));
}

/**
 * Makes require-in-the-middle cheap under tsx. The instrumentations' require
 * hook resolves every required module itself, calling
 * `Module._resolveFilename(id, parent)` with two arguments; tsx's resolver
 * treats a two-argument call as a possible call from Node's CJS lexer and, to
 * tell, builds an Error and formats its stack (with source maps) every time.
 * With ~400 modules loaded at each restart that was ~110 ms of every hot
 * reload (BENCHMARKS.md). Passing `isMain: false`, which is what Node itself
 * passes for any non-main module, skips that check; for a request without a
 * `?query` tsx's answer is the same either way.
 */
export function skipTsxLexerCheckOnResolve(): void {
  const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
  const resolve = moduleInternals._resolveFilename;
  moduleInternals._resolveFilename = function resolveFilename(this: unknown, ...args: Parameters<ResolveFilename>) {
    const [request, parent] = args;
    if (args.length === 2 && !request.includes('?')) return resolve.call(this, request, parent, false);
    return resolve.apply(this, args);
  };
}
