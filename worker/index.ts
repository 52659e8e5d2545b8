import { app } from './app';
import { warmRuntime } from './inference/ort';
import { runScheduled } from './ops/cron';
import { consumeEvents } from './events/consumer';
import type { EventMessage } from './events/message';

// Start ORT's WASM runtime while the isolate starts, not on its first recommendation.
void warmRuntime();

export { SessionState } from './session/durable-object';
export { OpsState } from './ops/durable-object';
export { BanditShard } from './bandits/durable-object';
export { EventBuffer } from './events/buffer';

export default {
  fetch: app.fetch,
  // Cron triggers (worker/ops/cron.ts): canary rule, drift, export → trim, profile compaction.
  scheduled: async (controller, env, _ctx) => {
    await runScheduled(controller, env);
  },
  // Events queue consumer (worker/events/consumer.ts): dedupe, R2 event log, attribution.
  queue: async (batch, env, ctx) => {
    await consumeEvents(batch, env, ctx);
  },
} satisfies ExportedHandler<Env, EventMessage>;
