import { app } from './app';
import { warmRuntime } from './inference/ort';
import { runScheduled } from './ops/cron';
import { consumeEvents } from './events/consumer';
import type { EventMessage } from './events/message';
import { takeConsumerCrash, withInjectedFaults, withoutAcks } from './ops/fault-injection';


export { SessionState } from './session/durable-object';
export { OpsState } from './ops/durable-object';
export { BanditShard } from './bandits/durable-object';
export { EventBuffer } from './events/buffer';
export { ShopperErasureWorkflow } from './privacy/erase-workflow';
export { ShopperExportWorkflow } from './privacy/access-workflow';
export { DailyMaintenanceWorkflow } from './ops/maintenance';

export default {
  fetch: (request, env, ctx) => {
    // The isolate's first request, whatever it is, starts ORT's runtime after its answer.
    ctx.waitUntil(warmRuntime());
    return app.fetch(request, env, ctx);
  },
  // Cron triggers (worker/ops/cron.ts): canary rule, drift, export → trim, profile compaction.
  scheduled: async (controller, env, _ctx) => {
    await runScheduled(controller, env);
  },
  // Events queue consumer (worker/events/consumer.ts): dedupe, R2 event log, attribution.
  // With the test-only FAULT_INJECTION var on, a delivery may be a crash: all work done, no ack.
  queue: async (batch, env, ctx) => {
    const crash = takeConsumerCrash(env);
    await consumeEvents(crash ? withoutAcks(batch) : batch, withInjectedFaults(env), ctx);
    if (crash) throw new Error('injected consumer crash (FAULT_INJECTION): the batch was processed but nothing was acked');
  },
} satisfies ExportedHandler<Env, EventMessage>;
