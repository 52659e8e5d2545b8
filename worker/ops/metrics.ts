/**
 * Metrics. Every request and every recommendation served becomes
 *  - one Workers Analytics Engine data point (binding METRICS; long-term, queried with SQL), and
 *  - a count in the OPS Durable Object's per-minute aggregate (the admin summary for the last
 *    hour, the canary rule, the fallback rate in health and the drift inputs).
 * Points are buffered per isolate and sent, at most once per METRICS_FLUSH_MS and through
 * waitUntil, to the isolate's metrics shard, which hands its sums on to the OPS object (worker/ops/
 * durable-object.ts): nothing here is on a request's critical path, and no single object hears
 * from every isolate. Points hold no personal data.
 *
 * Analytics Engine layout (see docs/operations.md):
 *   request: blobs [kind="request", route, method, status class, request id, environment]
 *            doubles [status, latency ms]            index: route
 *   serve:   blobs [kind="serve", slot, model version, arm, variant, strategy, environment]
 *            doubles [fallback 0/1, error 0/1, top score, items]  index: slot
 */
import { SHARD_PREFIX } from './durable-object';
import { log } from './log';

export interface RequestPoint {
  kind: 'request';
  t: number;
  route: string;
  method: string;
  status: number;
  ms: number;
}

export interface ServePoint {
  kind: 'serve';
  t: number;
  slot: string;
  model: string | null;
  /** model arm during a canary rollout: "stable" or "canary" (null when no rollout is running) */
  arm: 'stable' | 'canary' | null;
  rollout: string | null;
  /** experiment variant, when the recommendation was served inside one */
  variant: string | null;
  fallback: boolean;
  /** the model that should have answered failed (inference error, or a canary that cannot load) */
  error: boolean;
  topScore: number | null;
  /** category -> number of items shown */
  categories: Record<string, number>;
}

export type Point = RequestPoint | ServePoint;

const buffer: Point[] = [];
const MAX_BUFFER = 5000;

function push(p: Point): void {
  if (buffer.length >= MAX_BUFFER) buffer.shift();
  buffer.push(p);
}

function writeAE(env: Env, data: AnalyticsEngineDataPoint): void {
  try {
    env.METRICS?.writeDataPoint(data);
  } catch (e) {
    log('warn', 'analytics_engine_write_failed', { error: (e as Error).message });
  }
}

export function recordRequest(env: Env, p: Omit<RequestPoint, 'kind' | 't'>, requestId: string): void {
  const point: RequestPoint = { kind: 'request', t: Date.now(), ...p };
  writeAE(env, {
    indexes: [p.route.slice(0, 96)],
    blobs: ['request', p.route, p.method, `${Math.floor(p.status / 100)}xx`, requestId, String(env.ENVIRONMENT ?? '')],
    doubles: [p.status, p.ms],
  });
  push(point);
}

export function recordServe(env: Env, p: Omit<ServePoint, 'kind' | 't'>): void {
  const point: ServePoint = { kind: 'serve', t: Date.now(), ...p };
  const items = Object.values(p.categories).reduce((a, b) => a + b, 0);
  writeAE(env, {
    indexes: [p.slot.slice(0, 96)],
    blobs: ['serve', p.slot, p.model ?? '', p.arm ?? '', p.variant ?? '', p.fallback ? 'popular' : 'model', String(env.ENVIRONMENT ?? '')],
    doubles: [p.fallback ? 1 : 0, p.error ? 1 : 0, p.topScore ?? 0, items],
  });
  push(point);
}

/** The one "ops" object: summaries, canary counters and decisions, drift state. */
export function opsStub(env: Env) {
  return env.OPS.get(env.OPS.idFromName('ops'));
}

/** This isolate's metrics shard, picked once at random: "ops" hears from the shards, not from every isolate. */
let shard: number | undefined;
function metricsStub(env: Env) {
  const shards = Math.max(0, Math.floor(Number(env.METRICS_SHARDS ?? 0)) || 0);
  if (!shards) return opsStub(env);
  shard ??= Math.floor(Math.random() * 1_000_000);
  return env.OPS.get(env.OPS.idFromName(`${SHARD_PREFIX}${shard % shards}`));
}

/** Send the buffered points to the OPS Durable Object (call once per request, after the response). */
let lastFlush = 0;

/** At most one call to the metrics object per METRICS_FLUSH_MS per isolate (or when 200 points wait), off the hot path. */
export function flushMetrics(env: Env, waitUntil: (p: Promise<unknown>) => void): void {
  if (!buffer.length || !env.OPS) return;
  const now = Date.now();
  if (buffer.length < 200 && now - lastFlush < Number(env.METRICS_FLUSH_MS ?? 1000)) return;
  lastFlush = now;
  const batch = buffer.splice(0, buffer.length);
  waitUntil(
    metricsStub(env)
      .record(batch)
      .catch((e: Error) => log('warn', 'metrics_flush_failed', { points: batch.length, error: e.message })),
  );
}
