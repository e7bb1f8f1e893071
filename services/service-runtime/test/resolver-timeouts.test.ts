import { describe, expect, it } from 'vitest';
import { boundResolverTimeouts, RESOLVER_OPTIONS } from '../src/telemetry/resolver-timeouts';

describe('resolver timeouts (RES_OPTIONS)', () => {
  it('bounds glibc lookups to 1 s per try and 2 tries when nothing is set', () => {
    const env: NodeJS.ProcessEnv = {};
    boundResolverTimeouts(env);
    expect(env.RES_OPTIONS).toBe('timeout:1 attempts:2');
    expect(RESOLVER_OPTIONS).toBe(env.RES_OPTIONS);
  });

  it("keeps the environment's own RES_OPTIONS", () => {
    const env: NodeJS.ProcessEnv = { RES_OPTIONS: 'timeout:3 rotate' };
    boundResolverTimeouts(env);
    expect(env.RES_OPTIONS).toBe('timeout:3 rotate');
  });
});
