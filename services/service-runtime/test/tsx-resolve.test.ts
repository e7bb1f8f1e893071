import Module from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { runningUnderTsx, skipTsxLexerCheckOnResolve } from '../src/telemetry/tsx-resolve';

type Internals = { _resolveFilename: (...args: unknown[]) => string };
const internals = Module as unknown as Internals;

describe('the resolve fix for require-in-the-middle under tsx', () => {
  const original = internals._resolveFilename;
  afterEach(() => {
    internals._resolveFilename = original;
  });

  it('recognises tsx from the process arguments (tsx watch, --import tsx) and nothing else', () => {
    expect(runningUnderTsx(['--require', '/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///app/node_modules/tsx/dist/loader.mjs'])).toBe(true);
    expect(runningUnderTsx(['--import', 'tsx'])).toBe(true);
    expect(runningUnderTsx(['--import', '@meshloop/service-runtime/preload'])).toBe(false);
    expect(runningUnderTsx([])).toBe(false);
  });

  it('turns a two-argument resolve into one with isMain false, and leaves every other call as it was', () => {
    const calls: unknown[][] = [];
    internals._resolveFilename = (...args: unknown[]) => {
      calls.push(args);
      return '/resolved.js';
    };
    skipTsxLexerCheckOnResolve();
    const parent = { id: 'parent' };
    expect(internals._resolveFilename('express', parent)).toBe('/resolved.js');
    internals._resolveFilename('./a', parent, true);
    internals._resolveFilename('./b', parent, undefined, { paths: ['/x'] });
    internals._resolveFilename('./c?namespace=1', parent);
    expect(calls).toEqual([
      ['express', parent, false],
      ['./a', parent, true],
      ['./b', parent, undefined, { paths: ['/x'] }],
      ['./c?namespace=1', parent],
    ]);
  });
});
