import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// One suite for everything the README's test command runs. Files that start
// real processes (services, Tilt, Prometheus, Jaeger, Chromium) share a
// 2-core machine, so test files run one at a time; tests inside a file may
// still be concurrent where they say so.
export default defineConfig({
  // Import @meshloop/service-runtime from its TypeScript sources (the `source`
  // export condition), as tsx watch does, so tests never need a build first.
  // `module` is left out: it would hand OpenTelemetry's extensionless ESM
  // builds to Node, which cannot load them.
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions.filter((c) => c !== 'module')] } },
  test: {
    include: ['services/*/test/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
