/**
 * Worker tests run inside workerd with real local D1, Durable Objects and R2 (miniflare),
 * and real ONNX inference. test/global-setup.ts trains a small model with the code in
 * model/ before the suite, so the model under test is always one the pipeline produced.
 */
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { testOrigin } from './test/worker/rewrite-origin.ts';

export default defineConfig(async () => {
  const migrations = await readD1Migrations('./migrations');
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: 'test-admin-token-0123456789abcdef',
            ADMIN_TOKEN_NEXT: '',
            PSEUDONYM_KEY: 'test-pseudonym-key',
            MODEL_TTL_MS: '0',
            CATALOG_TTL_MS: '0',
            // Tests read metrics right after the requests that made them.
            METRICS_FLUSH_MS: '0',
            // Metrics shards hand their sums to the ops object at once (test/worker/ops.test.ts tests the held case).
            METRICS_ROLLUP_MS: '0',
            // HTML proxy tests: the storefront origin is a programmable Node HTTP server
            // (test/worker/rewrite-origin.ts) reached through the outbound service below.
            ORIGIN_URL: 'http://origin.test',
            IDENTITY_SECRET: 'test-identity-secret',
            // Storefront-backend key for the public API (X-P13n-Server-Key); test helpers send it.
            SERVER_KEY: 'test-server-key-0123456789abcdef',
            SERVER_KEY_NEXT: '',
            // A loaded CI machine must not turn "filled" into "timed out"; the time-out path is
            // tested with a per-slot budget of 0 (data-p13n-budget), which can only lower this.
            SLOT_BUDGET_MS: '5000',
            // Same for the other time limits: a busy machine must not turn a slow answer into a
            // degraded one; test/worker/faults.test.ts lowers them where it tests them.
            SESSION_BUDGET_MS: '5000',
            D1_TIMEOUT_MS: '20000',
            CORS_ORIGINS: 'https://shop.test',
            // Rate limits are on only where a test asks for them (test/worker/security.test.ts),
            // with small local limits so that the test needs few requests.
            RATE_LIMITS: 'off',
          },
          ratelimits: {
            RATE_LIMIT_IP: { namespace_id: '1001', simple: { limit: 20, period: 60 } },
            RATE_LIMIT_SESSION: { namespace_id: '1002', simple: { limit: 10, period: 60 } },
          },
          outboundService: { node: testOrigin },
          // The events queue delivers to the consumer as soon as a message waits (wrangler.toml
          // says 2 s): tests wait for the R2 log after each POST (test/worker/helpers.ts postEvents).
          queueConsumers: { 'p13n-events': { maxBatchTimeout: 0.05, maxRetries: 5 } },
        },
      }),
    ],
    test: {
      // Each file gets its own workerd (seconds of set-up): small groups of tests live in
      // test/worker/*.cases.ts, imported by the file they belong with.
      include: ['test/worker/**/*.test.ts'],
      setupFiles: ['./test/worker/apply-migrations.ts'],
      globalSetup: ['./test/global-setup.ts'],
      // Vitest's default is one file at a time on a 2-core machine (CPUs - 1); most of a file's
      // time is its workerd starting and waiting on local storage, so two overlap well.
      maxWorkers: 2,
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
