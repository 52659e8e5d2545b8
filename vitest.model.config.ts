/** Model pipeline tests (model/) and pure-function unit tests (test/unit/): plain Node, no workerd. Run with `npm run test:model`. */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/model/**/*.test.ts', 'test/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
