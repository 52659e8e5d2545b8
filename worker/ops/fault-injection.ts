/**
 * Test-only fault switch, for load tests against a running `wrangler dev` (npm run soak), where a
 * test cannot wrap bindings the way test/worker/faults.test.ts does. It does nothing unless the
 * FAULT_INJECTION var is "on" (wrangler.toml sets "off" in every environment; the soak starts
 * `wrangler dev --var FAULT_INJECTION:on`); with it off, POST /v1/admin/faults answers 404.
 *
 * Faults (state of the isolate; local dev runs the fetch and queue handlers in one isolate):
 *  - a D1 outage for a given time: every D1 call made by a request or by the queue consumer
 *    rejects like a D1 error (Durable Objects keep their own binding and are not affected);
 *  - consumer crashes: the next N queue deliveries do all their work (session objects, R2 log,
 *    D1) and then throw without acking anything, like a consumer that died before its acks; the
 *    queue redelivers every message of the batch.
 */
export interface FaultState {
  enabled: boolean;
  d1_outage_until: number | null;
  consumer_crashes_pending: number;
  consumer_crashes_done: number;
  d1_calls_failed: number;
}

const state = { d1Until: 0, crashesPending: 0, crashesDone: 0, d1Failed: 0 };

export function faultInjectionEnabled(env: Env): boolean {
  return (env.FAULT_INJECTION as string | undefined) === 'on';
}

export function faultStatus(env: Env): FaultState {
  return {
    enabled: faultInjectionEnabled(env),
    d1_outage_until: state.d1Until > Date.now() ? state.d1Until : null,
    consumer_crashes_pending: state.crashesPending,
    consumer_crashes_done: state.crashesDone,
    d1_calls_failed: state.d1Failed,
  };
}

export function setFaults(f: { d1OutageMs?: number; consumerCrashes?: number }): void {
  if (f.d1OutageMs !== undefined) state.d1Until = f.d1OutageMs > 0 ? Date.now() + f.d1OutageMs : 0;
  if (f.consumerCrashes !== undefined) state.crashesPending = Math.max(0, Math.floor(f.consumerCrashes));
}

/** Whether this queue delivery is one of the crashes asked for (counts it). */
export function takeConsumerCrash(env: Env): boolean {
  if (!faultInjectionEnabled(env) || state.crashesPending <= 0) return false;
  state.crashesPending--;
  state.crashesDone++;
  return true;
}

/** The batch as the consumer sees it, with ack()/retry() swallowed: a crash loses them. */
export function withoutAcks<T>(batch: MessageBatch<T>): MessageBatch<T> {
  const messages = batch.messages.map((m) => ({ id: m.id, timestamp: m.timestamp, body: m.body, attempts: m.attempts, ack: () => {}, retry: () => {} }));
  return { queue: batch.queue, messages, ackAll: () => {}, retryAll: () => {} } as unknown as MessageBatch<T>;
}

const down = () => Date.now() < state.d1Until;
function outage<T>(): Promise<T> {
  state.d1Failed++;
  return Promise.reject(new Error('D1_ERROR: injected outage (FAULT_INJECTION)'));
}

class FaultStatement {
  constructor(readonly inner: D1PreparedStatement) {}
  bind(...values: unknown[]) {
    return new FaultStatement(this.inner.bind(...values));
  }
  first(column?: string) {
    return down() ? outage() : column === undefined ? this.inner.first() : this.inner.first(column);
  }
  run() {
    return down() ? outage() : this.inner.run();
  }
  all() {
    return down() ? outage() : this.inner.all();
  }
  raw(options?: { columnNames?: boolean }) {
    return down() ? outage() : this.inner.raw(options as { columnNames: true });
  }
}

const unwrap = (s: D1PreparedStatement) => (s instanceof FaultStatement ? s.inner : s) as D1PreparedStatement;
// One wrapper per binding, so caches keyed by the D1 object keep working across requests.
const wrappers = new WeakMap<D1Database, D1Database>();

function faultyD1(d1: D1Database): D1Database {
  let w = wrappers.get(d1);
  if (!w) {
    w = {
      prepare: (query: string) => new FaultStatement(d1.prepare(query)) as unknown as D1PreparedStatement,
      batch: (stmts: D1PreparedStatement[]) => (down() ? outage() : d1.batch(stmts.map(unwrap))),
      exec: (query: string) => (down() ? outage() : d1.exec(query)),
      withSession: (c?: string) => d1.withSession(c as never),
      dump: () => (down() ? outage() : d1.dump()),
    } as unknown as D1Database;
    wrappers.set(d1, w);
  }
  return w;
}

/** The env with the injectable faults wired in (the env itself when FAULT_INJECTION is not "on"). */
export function withInjectedFaults(env: Env): Env {
  if (!faultInjectionEnabled(env) || !env.DB) return env;
  return { ...env, DB: faultyD1(env.DB) };
}
