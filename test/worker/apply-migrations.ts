import { applyD1Migrations, env, evictAllDurableObjects } from 'cloudflare:test';
import { afterAll } from 'vitest';

// Runs before each test file: the real generated migrations, against real local D1.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// The file's last requests leave work running after their answers (metrics flushes through the
// shard objects, session-object claims), and it logs as it ends. Let those calls finish before the
// file's runtime closes: a log line still in flight at teardown fails an all-green run
// (vitest-dev/vitest#11153, "Closing rpc while onUserConsoleLog was pending").
afterAll(() => evictAllDurableObjects());
