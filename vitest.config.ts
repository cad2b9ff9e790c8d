import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['codegen/**/*.test.ts', 'services/**/*.test.ts', 'infra/**/*.test.ts'],
    // Finds PostgreSQL and Chromium (or brings them) before any test file runs.
    globalSetup: ['services/testing/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
