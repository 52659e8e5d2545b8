/**
 * Drift detection (5-minute cron). Three live streams are compared with the model's
 * training-time statistics, each with a two-sided Page-Hinkley test:
 *  - score:    mean top score of served recommendations per window, against
 *              manifest.training.score_mean (else the first window after the model went live);
 *  - category: total-variation distance between the categories shown in the window and
 *              manifest.training.category_shares (else the first window's shares);
 *  - ctr:      clicks / impressions of recommended items in the window, against
 *              manifest.metrics.ctr (else the first window).
 * The training-time values are written into the manifest by `npm run model:retrain`
 * (model/retrain.ts), measured on the holdout day with the served two-stage code.
 * An alarm is raised in /v1/admin/health (`drift`) and in metrics, and logged, and marks the model
 * as due for retraining (retrainDue: health `model.retrain_due`, /v1/admin/metrics, an Analytics
 * Engine `retrain_due` point); it clears when the model version changes (a new model went live).
 */
import { and, gte, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { db } from '../db/client';
import { events, recCtr } from '../db/schema';
import type { LoadedModel } from '../inference/model-store';
import { log } from './log';
import { opsStub } from './metrics';

/** Page-Hinkley state (two-sided: detects a rise and a fall of the stream's mean). */
export interface PageHinkley {
  n: number;
  mean: number;
  up: number;
  upMin: number;
  down: number;
  downMax: number;
}

export const newPH = (): PageHinkley => ({ n: 0, mean: 0, up: 0, upMin: 0, down: 0, downMax: 0 });

/**
 * One observation. `reference` replaces the running mean when the training-time value is known.
 * delta: magnitude of change tolerated; lambda: alarm threshold on the cumulative deviation.
 */
export function phUpdate(s: PageHinkley, x: number, delta: number, lambda: number, reference?: number): { state: PageHinkley; alarm: 'up' | 'down' | null; statistic: number } {
  const n = s.n + 1;
  const mean = s.mean + (x - s.mean) / n;
  const base = reference ?? mean;
  const up = s.up + (x - base - delta);
  const down = s.down + (x - base + delta);
  const upMin = Math.min(s.upMin, up);
  const downMax = Math.max(s.downMax, down);
  const state = { n, mean, up, upMin, down, downMax };
  const statUp = up - upMin;
  const statDown = downMax - down;
  const alarm = statUp > lambda ? 'up' : statDown > lambda ? 'down' : null;
  return { state, alarm, statistic: Math.max(statUp, statDown) };
}

export function totalVariation(p: Record<string, number>, q: Record<string, number>): number {
  const sp = Object.values(p).reduce((a, b) => a + b, 0) || 1;
  const sq = Object.values(q).reduce((a, b) => a + b, 0) || 1;
  let tv = 0;
  for (const k of new Set([...Object.keys(p), ...Object.keys(q)])) tv += Math.abs((p[k] ?? 0) / sp - (q[k] ?? 0) / sq);
  return tv / 2;
}

type Stream = 'score' | 'category' | 'ctr';
/** delta / lambda per stream (score in score units, category in TV distance, ctr in CTR points). */
const PARAMS: Record<Stream, { delta: number; lambda: number }> = {
  score: { delta: 0.05, lambda: 1 },
  category: { delta: 0.05, lambda: 0.5 },
  ctr: { delta: 0.005, lambda: 0.05 },
};

export interface DriftState {
  model: string;
  since: number;
  reference: { score?: number; categories?: Record<string, number>; ctr?: number; source: Record<Stream, 'training' | 'first_window'> };
  ph: Record<Stream, PageHinkley>;
  last: Partial<Record<Stream, number>>;
  statistic: Partial<Record<Stream, number>>;
  alarms: Partial<Record<Stream, { direction: 'up' | 'down'; at: number; value: number }>>;
  windows: number;
}

const KEY = 'drift';

export async function readDrift(env: Env): Promise<DriftState | null> {
  return (await opsStub(env).getState(KEY)) as DriftState | null;
}

/** Run one window of the drift check for the model currently serving. */
export async function checkDrift(env: Env, model: LoadedModel | undefined, now = Date.now()): Promise<DriftState | null> {
  if (!model) return null;
  const ops = opsStub(env);
  let st = (await ops.getState(KEY)) as DriftState | null;
  const training = (model.manifest.training ?? {}) as { score_mean?: number; category_shares?: Record<string, number> };
  const metrics = (model.manifest.metrics ?? {}) as { ctr?: number };
  if (!st || st.model !== model.version) {
    st = {
      model: model.version,
      since: now,
      reference: {
        score: typeof training.score_mean === 'number' ? training.score_mean : undefined,
        categories: training.category_shares && typeof training.category_shares === 'object' ? training.category_shares : undefined,
        ctr: typeof metrics.ctr === 'number' ? metrics.ctr : undefined,
        source: {
          score: typeof training.score_mean === 'number' ? 'training' : 'first_window',
          category: training.category_shares ? 'training' : 'first_window',
          ctr: typeof metrics.ctr === 'number' ? 'training' : 'first_window',
        },
      },
      ph: { score: newPH(), category: newPH(), ctr: newPH() },
      last: {},
      statistic: {},
      alarms: {},
      windows: 0,
    };
    await ops.putState(KEY, st);
    return st; // the next window is the first one measured for this model
  }
  const since = (st as DriftState & { checkedAt?: number }).checkedAt ?? st.since;
  const served = await ops.servedSince(since);
  // The consumer's per-message counts (rec_ctr), plus rows still in the legacy D1 event log.
  const d = db(env.DB);
  const [[legacy], [counted]] = await d.batch([
    d
      .select({ impressions: sql<number>`sum(case when ${events.type} = 'impression' then 1 else 0 end)`, clicks: sql<number>`sum(case when ${events.type} = 'click' then 1 else 0 end)` })
      .from(events)
      .where(and(gte(events.receivedAt, since), lt(events.receivedAt, now), isNotNull(events.recommendationId), inArray(events.type, ['impression', 'click']))),
    d
      .select({ impressions: sql<number>`sum(${recCtr.impressions})`, clicks: sql<number>`sum(${recCtr.clicks})` })
      .from(recCtr)
      .where(and(gte(recCtr.receivedAt, since), lt(recCtr.receivedAt, now))),
  ]);
  const ctrRow = {
    impressions: Number(legacy?.impressions ?? 0) + Number(counted?.impressions ?? 0),
    clicks: Number(legacy?.clicks ?? 0) + Number(counted?.clicks ?? 0),
  };
  const observe = (stream: Stream, x: number, reference?: number) => {
    const p = PARAMS[stream];
    const r = phUpdate(st!.ph[stream], x, p.delta, p.lambda, reference);
    st!.ph[stream] = r.state;
    st!.last[stream] = x;
    st!.statistic[stream] = r.statistic;
    if (r.alarm && !st!.alarms[stream]) {
      if (!Object.keys(st!.alarms).length) {
        log('warn', 'model_retrain_due', { model: st!.model, stream, direction: r.alarm });
        env.METRICS?.writeDataPoint({ indexes: ['retrain_due'], blobs: ['retrain_due', st!.model, stream, String(env.ENVIRONMENT ?? '')], doubles: [1] });
      }
      st!.alarms[stream] = { direction: r.alarm, at: now, value: x };
      log('warn', 'drift_detected', { stream, model: st!.model, direction: r.alarm, value: x, reference: reference ?? null, statistic: r.statistic });
      env.METRICS?.writeDataPoint({ indexes: ['drift'], blobs: ['drift', stream, st!.model, r.alarm, String(env.ENVIRONMENT ?? '')], doubles: [x, r.statistic] });
    }
  };
  if (served.scoreN > 0) {
    const mean = served.scoreSum / served.scoreN;
    if (st.reference.score === undefined) st.reference.score = mean;
    observe('score', mean, st.reference.score);
  }
  if (Object.keys(served.categories).length) {
    if (!st.reference.categories) st.reference.categories = served.categories;
    observe('category', totalVariation(served.categories, st.reference.categories), 0);
  }
  if ((ctrRow?.impressions ?? 0) > 0) {
    const ctr = (ctrRow!.clicks ?? 0) / ctrRow!.impressions;
    if (st.reference.ctr === undefined) st.reference.ctr = ctr;
    observe('ctr', ctr, st.reference.ctr);
  }
  st.windows++;
  (st as DriftState & { checkedAt?: number }).checkedAt = now;
  await ops.putState(KEY, st);
  return st;
}

export interface RetrainDue {
  due: boolean;
  /** which streams drifted, which way, against which reference */
  reason: string | null;
  /** when the first alarm fired (ms) */
  since: number | null;
}

/** A drift alarm on the model now serving marks it as due for retraining (`npm run model:retrain`). */
export function retrainDue(st: DriftState | null, activeVersion: string | null | undefined): RetrainDue {
  const alarms = st && st.model === activeVersion ? (Object.entries(st.alarms) as [Stream, NonNullable<DriftState['alarms'][Stream]>][]) : [];
  if (!st || !alarms.length) return { due: false, reason: null, since: null };
  return {
    due: true,
    reason: alarms.map(([stream, a]) => `${stream} drifted ${a.direction} from its ${st.reference.source[stream] === 'training' ? 'training-time' : 'first-window'} reference`).join('; '),
    since: Math.min(...alarms.map(([, a]) => a.at)),
  };
}
