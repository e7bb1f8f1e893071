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
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['services/*/test/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'test/cluster/**'],
        },
      },
      // The real-cluster tier (test/cluster, `npm run test:cluster`): its global setup
      // builds and starts a real Kubernetes node once for all its files and removes it
      // afterwards. Vitest runs a project's global setup only when some of its files run.
      {
        extends: true,
        test: { name: 'cluster', include: ['test/cluster/**/*.test.ts'], globalSetup: ['test/cluster/setup.ts'] },
      },
    ],
  },
});
