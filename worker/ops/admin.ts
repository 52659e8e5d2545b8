/**
 * Admin routes for operations (mounted under /v1/admin by worker/api/admin.ts, so they need the
 * admin bearer token): metrics for the last hour, canary rollouts, export runs; and the extra
 * fields of /v1/admin/health.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { adminErrorResponses, Id } from '../schemas/common';
import { router } from '../api/types';
import { bufferStub } from '../events/buffer-client';
import { activeModel, closeRollout, DEFAULT_CANARY_RULE, listRollouts, runningRollout, startCanary } from '../inference/registry';
import { markModelStale, modelStatus } from '../inference/model-store';
import { ApiError } from '../lib/errors';
import { readDrift, retrainDue } from './drift';
import { lastExportRuns } from './export';
import { recentFaults } from './faults';
import { log } from './log';
import { opsStub } from './metrics';

const security = [{ bearerAuth: [] }];
const ok = <T extends z.ZodType>(schema: T, description = 'OK') => ({
  200: { description, content: { 'application/json': { schema } } },
  ...adminErrorResponses,
});

/** Health degrades when more than this share of recommendations fell back (with enough traffic). */
export const FALLBACK_RATE_DEGRADED = 0.2;
const MIN_REQUESTS_FOR_RATE = 20;

const CanaryBody = z
  .object({
    share: z.number().gt(0).lt(1).optional().openapi({ description: 'Share of traffic for the canary (default CANARY_SHARE, 0.1)' }),
    min_requests: z.number().int().min(1).max(1_000_000).default(DEFAULT_CANARY_RULE.min_requests),
    max_bad_rate_delta: z.number().min(0).max(1).default(DEFAULT_CANARY_RULE.max_bad_rate_delta),
    min_impressions: z.number().int().min(0).max(10_000_000).default(DEFAULT_CANARY_RULE.min_impressions),
    max_ctr_drop: z.number().min(0).max(1).default(DEFAULT_CANARY_RULE.max_ctr_drop),
  })
  .openapi('CanaryRequest');

const RolloutSchema = z
  .object({
    id: z.string(),
    version: z.string(),
    stable_version: z.string().nullable(),
    share: z.number(),
    status: z.string(),
    rule: z.record(z.string(), z.number()),
    started_at: z.number(),
    decided_at: z.number().nullable(),
    decision: z.record(z.string(), z.unknown()).nullable(),
    counts: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('CanaryRollout');

function rolloutJson(r: Awaited<ReturnType<typeof listRollouts>>[number], counts?: unknown) {
  return {
    id: r.id,
    version: r.version,
    stable_version: r.stableVersion,
    share: r.share,
    status: r.status,
    rule: r.rule,
    started_at: r.startedAt,
    decided_at: r.decidedAt,
    decision: r.decision ?? null,
    ...(counts ? { counts: counts as Record<string, unknown> } : {}),
  };
}

export const opsAdminApi = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/metrics',
      summary: 'Requests, latency, status codes, fallbacks by model, slot and canary arm over the last hour (or window_minutes, ≤ 180); retrain_due: whether drift marked the active model as due for retraining',
      security,
      request: { query: z.object({ window_minutes: z.coerce.number().int().min(1).max(180).default(60) }) },
      responses: ok(z.record(z.string(), z.unknown())),
    }),
    async (c) => {
      const [summary, drift, active] = await Promise.all([opsStub(c.env).summary(c.req.valid('query').window_minutes * 60_000), readDrift(c.env).catch(() => null), activeModel(c.env.DB).catch(() => undefined)]);
      return c.json({ ...summary, retrain_due: retrainDue(drift, active?.version) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/models/{version}/canary',
      summary: 'Start a canary: a share of traffic is served by this version and the rule promotes or rolls it back',
      security,
      request: { params: z.object({ version: Id }), body: { required: false, content: { 'application/json': { schema: CanaryBody } } } },
      responses: ok(RolloutSchema),
    }),
    async (c) => {
      const body = CanaryBody.parse((await c.req.json().catch(() => ({}))) ?? {});
      const share = body.share ?? Number(c.env.CANARY_SHARE ?? 0.1);
      if (!(share > 0 && share < 1)) throw new ApiError(400, 'invalid_request', 'share must be between 0 and 1 (exclusive)');
      const { share: _s, ...rule } = body;
      const r = await startCanary(c.env.DB, c.req.valid('param').version, share, rule);
      markModelStale();
      log('info', 'canary_started', { rollout_id: r.id, version: r.version, stable_version: r.stableVersion, share, rule });
      return c.json(rolloutJson(r), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/models/canary',
      summary: 'The running canary (with its counts) and the latest decided ones',
      security,
      responses: ok(z.object({ running: RolloutSchema.nullable(), recent: z.array(RolloutSchema) })),
    }),
    async (c) => {
      const [running, recent] = await Promise.all([runningRollout(c.env.DB), listRollouts(c.env.DB)]);
      const counts = running ? await opsStub(c.env).canaryCounts(running.id) : undefined;
      return c.json({ running: running ? rolloutJson(running, counts) : null, recent: recent.map((r) => rolloutJson(r)) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/models/canary/abort',
      summary: 'Stop the running canary now: all traffic back on the active model, the canary version retired',
      security,
      responses: ok(RolloutSchema),
    }),
    async (c) => {
      const running = await runningRollout(c.env.DB);
      if (!running) throw new ApiError(409, 'no_canary', 'no canary is running');
      const counts = await opsStub(c.env).canaryCounts(running.id);
      const decision = { action: 'rollback', reason: 'aborted by an operator', trigger: 'admin', decided_by: 'operator', counts };
      await closeRollout(c.env.DB, running.id, 'cancelled', decision);
      markModelStale();
      log('warn', 'canary_decision', { rollout_id: running.id, version: running.version, stable_version: running.stableVersion, ...decision });
      return c.json(rolloutJson({ ...running, status: 'cancelled', decision }), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/exports',
      summary: 'Latest event-log exports to R2 (the daily cron job)',
      security,
      responses: ok(z.object({ runs: z.array(z.record(z.string(), z.unknown())) })),
    }),
    async (c) => c.json({ runs: (await lastExportRuns(c.env.DB, 20)) as unknown as Record<string, unknown>[] }, 200),
  );

/** The operations part of /v1/admin/health. */
export async function opsHealth(env: Env) {
  const reasons: string[] = [];
  const [active, summary, drift, runs, exportsBucket, buffer] = await Promise.all([
    activeModel(env.DB).catch(() => undefined),
    opsStub(env)
      .summary(3600_000)
      .catch((e: Error) => ({ error: e.message })),
    readDrift(env).catch(() => null),
    lastExportRuns(env.DB, 1).catch(() => []),
    env.EXPORTS.head('healthcheck')
      .then(() => ({ ok: true }))
      .catch((e: Error) => ({ ok: false, error: e.message })),
    bufferStub(env)
      .status()
      .catch((e: Error) => ({ error: e.message })),
  ]);
  // Events held while the D1 event log failed (worker/events/buffer.ts), and dependencies that
  // failed recently on request paths that degrade quietly (worker/ops/faults.ts).
  if ('error' in buffer) reasons.push('event_buffer_unreachable');
  else if (buffer.pending > 0) reasons.push('events_buffered');
  const faults = recentFaults();
  for (const dep of Object.keys(faults)) reasons.push(`${dep}_errors`);
  const ops = 'error' in summary ? { ok: false, error: summary.error } : { ok: true };
  if (!ops.ok) reasons.push('metrics_unreachable');
  if (!exportsBucket.ok) reasons.push('exports_bucket_unreachable');
  const rec = 'error' in summary ? null : summary.recommendations;
  if (rec && rec.total >= MIN_REQUESTS_FOR_RATE && rec.fallback_rate > FALLBACK_RATE_DEGRADED) reasons.push('high_fallback_rate');
  const retrain = retrainDue(drift, active?.version);
  if (retrain.due) reasons.push('drift', 'retrain_due');
  const last = runs[0];
  if (last?.status === 'failed') reasons.push('export_failed');
  const canary = modelStatus().canary;
  if (canary?.error) reasons.push('canary_load_error');
  const now = Date.now();
  return {
    reasons,
    model: {
      created_at: active?.createdAt ?? null,
      activated_at: active?.activatedAt ?? null,
      /** time since the active model was registered (trained and published) */
      model_age_hours: active ? Math.round(((now - active.createdAt) / 3600_000) * 10) / 10 : null,
      /** a drift alarm on this model: time to run `npm run model:retrain` */
      retrain_due: retrain.due,
      retrain_reason: retrain.reason,
      retrain_due_since: retrain.since,
    },
    storage: { exports_r2: exportsBucket, metrics_object: ops },
    traffic: rec
      ? { window_minutes: 60, recommendations: rec.total, fallback_rate: rec.fallback_rate, error_rate: rec.error_rate, requests: 'error' in summary ? 0 : summary.requests.total, http_5xx_rate: 'error' in summary ? 0 : summary.requests.error_rate }
      : { window_minutes: 60, error: 'metrics unavailable' },
    drift: drift
      ? { model: drift.model, windows: drift.windows, alarms: drift.alarms, last: drift.last, statistic: drift.statistic, reference_source: drift.reference.source, since: drift.since }
      : null,
    events: 'error' in buffer ? { ok: false, error: buffer.error } : { ok: true, ...buffer },
    faults,
    exports: last ? { last_run: last.id, status: last.status, rows: last.rows, finished_at: last.finishedAt, exported_through: last.status === 'done' ? last.toReceivedAt : null, error: last.error } : null,
  };
}

/** A direct activation or rollback ends a running canary (recorded as cancelled, with why). */
export async function supersedeCanary(d1: D1Database, why: string): Promise<void> {
  const running = await runningRollout(d1);
  if (!running) return;
  const decision = { action: 'cancel', reason: `superseded: ${why}`, trigger: 'admin', decided_by: 'operator' };
  if (await closeRollout(d1, running.id, 'cancelled', decision)) log('warn', 'canary_decision', { rollout_id: running.id, version: running.version, ...decision });
}
