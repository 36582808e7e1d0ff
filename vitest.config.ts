import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests train small models and spawn the CLI: give them room, and run files on both cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    // .ci/run reads the counts from the JSON report.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
