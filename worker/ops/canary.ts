/**
 * Canary rollouts: which arm a request belongs to, and the rule that promotes or rolls back.
 *
 * Split: sticky per session (else per user): hash(rollout id, key) < share => canary. Requests
 * with neither key are split at random. Because events carry the session key, the CTR of each
 * arm can be measured from the event log with the same function.
 *
 * Rule (evaluated by the OPS Durable Object after each batch of canary traffic and by the
 * 5-minute cron job), once the canary arm has served `min_requests`:
 *   1. bad rate = (errors + fallbacks) / requests. canary − stable > max_bad_rate_delta => roll back.
 *   2. CTR = clicks / impressions of recommended items. When both arms have `min_impressions`
 *      and canary CTR < stable CTR × (1 − max_ctr_drop) => roll back.
 *   3. otherwise, if CTR was compared (or min_impressions = 0) => promote; else keep waiting.
 */
import { and, eq, gte, inArray, isNotNull, sql } from 'drizzle-orm';
import { db } from '../db/client';
import { canaryCtr, events, type RolloutRow } from '../db/schema';
import { closeRollout, DEFAULT_CANARY_RULE, type CanaryRule } from '../inference/registry';
import { fnv1a } from '../lib/fnv';
import { log } from './log';

export interface ArmStats {
  requests: number;
  errors: number;
  fallbacks: number;
  impressions: number;
  clicks: number;
}

export interface Decision {
  action: 'promote' | 'rollback' | 'wait';
  reason: string;
  canary: ArmStats & { bad_rate: number; ctr: number | null };
  stable: ArmStats & { bad_rate: number; ctr: number | null };
}

export function armFor(rolloutId: string, key: string | null, share: number): 'canary' | 'stable' {
  const u = key ? fnv1a(`${rolloutId}:${key}`) / 2 ** 32 : Math.random();
  return u < share ? 'canary' : 'stable';
}

export function ruleOf(r: Pick<RolloutRow, 'rule'>): CanaryRule {
  return { ...DEFAULT_CANARY_RULE, ...(r.rule as Partial<CanaryRule>) };
}

const rate = (a: number, b: number) => (b > 0 ? a / b : 0);

export function decide(canary: ArmStats, stable: ArmStats, rule: CanaryRule): Decision {
  const c = { ...canary, bad_rate: rate(canary.errors + canary.fallbacks, canary.requests), ctr: canary.impressions ? canary.clicks / canary.impressions : null };
  const s = { ...stable, bad_rate: rate(stable.errors + stable.fallbacks, stable.requests), ctr: stable.impressions ? stable.clicks / stable.impressions : null };
  const out = (action: Decision['action'], reason: string): Decision => ({ action, reason, canary: c, stable: s });
  if (canary.requests < rule.min_requests) return out('wait', `canary has served ${canary.requests} of ${rule.min_requests} requests`);
  if (c.bad_rate - s.bad_rate > rule.max_bad_rate_delta) {
    return out('rollback', `canary error+fallback rate ${pct(c.bad_rate)} vs stable ${pct(s.bad_rate)} (allowed +${pct(rule.max_bad_rate_delta)})`);
  }
  const ctrComparable = rule.min_impressions > 0 && canary.impressions >= rule.min_impressions && stable.impressions >= rule.min_impressions;
  if (ctrComparable && c.ctr! < s.ctr! * (1 - rule.max_ctr_drop)) {
    return out('rollback', `canary CTR ${pct(c.ctr!)} vs stable ${pct(s.ctr!)} (allowed −${pct(rule.max_ctr_drop)} relative)`);
  }
  if (rule.min_impressions === 0) return out('promote', `error+fallback rate ${pct(c.bad_rate)} vs stable ${pct(s.bad_rate)}; CTR not required`);
  if (ctrComparable) return out('promote', `error+fallback rate ${pct(c.bad_rate)} vs ${pct(s.bad_rate)}, CTR ${pct(c.ctr!)} vs ${pct(s.ctr!)}`);
  return out('wait', `waiting for ${rule.min_impressions} impressions per arm to compare CTR (canary ${canary.impressions}, stable ${stable.impressions})`);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/**
 * Impressions and clicks on recommendations since the rollout started, per arm: the consumer's
 * counts (canary_ctr, worker/events/canary-ctr.ts) plus, during the migration period, rows still
 * in the legacy D1 event log (by session key).
 */
export async function ctrByArm(d1: D1Database, rollout: Pick<RolloutRow, 'id' | 'share' | 'startedAt'>): Promise<Record<'canary' | 'stable', { impressions: number; clicks: number }>> {
  const d = db(d1);
  const [rows, counted] = await d.batch([
    d
      .select({ sessionKey: events.sessionKey, type: events.type, n: sql<number>`count(*)` })
      .from(events)
      .where(and(gte(events.receivedAt, rollout.startedAt), isNotNull(events.recommendationId), inArray(events.type, ['impression', 'click'])))
      .groupBy(events.sessionKey, events.type),
    d
      .select({ arm: canaryCtr.arm, impressions: sql<number>`sum(${canaryCtr.impressions})`, clicks: sql<number>`sum(${canaryCtr.clicks})` })
      .from(canaryCtr)
      .where(eq(canaryCtr.rolloutId, rollout.id))
      .groupBy(canaryCtr.arm),
  ]);
  const out = { canary: { impressions: 0, clicks: 0 }, stable: { impressions: 0, clicks: 0 } };
  for (const c of counted) {
    out[c.arm].impressions += Number(c.impressions);
    out[c.arm].clicks += Number(c.clicks);
  }
  for (const r of rows) {
    const arm = out[armFor(rollout.id, r.sessionKey, rollout.share)];
    if (r.type === 'impression') arm.impressions += r.n;
    else arm.clicks += r.n;
  }
  return out;
}

/** Apply the rule to a running rollout; closes it on promote/rollback and logs the decision. */
export async function evaluateRollout(
  env: Env,
  rollout: RolloutRow,
  counts: Record<'canary' | 'stable', Pick<ArmStats, 'requests' | 'errors' | 'fallbacks'>>,
  trigger: string,
): Promise<Decision> {
  const rule = ruleOf(rollout);
  const ctr = rule.min_impressions > 0 ? await ctrByArm(env.DB, rollout) : { canary: { impressions: 0, clicks: 0 }, stable: { impressions: 0, clicks: 0 } };
  const d = decide({ ...counts.canary, ...ctr.canary }, { ...counts.stable, ...ctr.stable }, rule);
  if (d.action === 'wait') return d;
  const record = { action: d.action, reason: d.reason, trigger, canary: d.canary, stable: d.stable, rule, decided_by: 'rule' };
  const closed = await closeRollout(env.DB, rollout.id, d.action === 'promote' ? 'promoted' : 'rolled_back', record);
  if (closed) {
    log(d.action === 'rollback' ? 'warn' : 'info', 'canary_decision', {
      rollout_id: rollout.id,
      version: rollout.version,
      stable_version: rollout.stableVersion,
      ...record,
    });
  }
  return d;
}

/** Counts for one arm from the OPS object's canary table (missing arm => zeros). */
export function emptyArm(): Pick<ArmStats, 'requests' | 'errors' | 'fallbacks'> {
  return { requests: 0, errors: 0, fallbacks: 0 };
}
