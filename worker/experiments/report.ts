/**
 * Experiment reports: per-variant KPIs with 95% intervals, uplift versus control, the
 * two-proportion z-test, the always-valid mSPRT (evaluated at every time bucket, so its
 * p-value is the running minimum over "daily looks"), the sample-ratio-mismatch check and the
 * time series the dashboard draws. Computed from D1 (`rec_served`, `rec_purchases`).
 */
import { allocation, posterior, seededRng } from '../bandits/thompson';
import { readBanditCounts, type ContextCounts } from '../bandits/client';
import { controlOf, type Experiment } from './config';
import {
  meanInterval,
  meanUplift,
  msprt,
  proportionInterval,
  proportionUplift,
  sampleRatioMismatch,
  sampleSizePerArm,
  twoProportionZTest,
  type Interval,
  type SrmCheck,
  type Uplift,
  type ZTest,
} from './stats';
import { MAX_EVENT_VALUE } from '../schemas/events';

export interface VariantKpis {
  name: string;
  control: boolean;
  strategy: string;
  weight: number;
  served: number;
  visitors: number;
  impressions: number;
  clicks: number;
  add_to_carts: number;
  conversions: number;
  converters: number;
  revenue: number;
  ctr: Interval;
  conversion_rate: Interval;
  revenue_per_visitor: Interval;
  uplift: { ctr: Uplift; conversion_rate: Uplift; revenue_per_visitor: Uplift } | null;
  z_test: ZTest | null;
  sequential: { lambda: number; p: number; significant: boolean } | null;
}

export interface SeriesPoint {
  t: number;
  variant: string;
  served: number;
  impressions: number;
  clicks: number;
  /** cumulative CTR up to the end of this bucket */
  ctr: number;
  /** share of this bucket's served recommendations that went to the variant */
  share: number;
}

export interface Report {
  experiment: Pick<Experiment, 'id' | 'name' | 'slot' | 'kind' | 'status' | 'metric' | 'mde' | 'started_at' | 'stopped_at'>;
  primary_metric: 'ctr' | 'conversion_rate';
  variants: VariantKpis[];
  srm: SrmCheck | null;
  power: { baseline: number; mde: number; n_per_arm: number | null; alpha: number; power: number };
  series: { bucket_ms: number; points: SeriesPoint[] };
  bandit: { contexts: Record<string, Record<string, { trials: number; successes: number; mean: number; allocation: number }>> } | null;
  generated_at: number;
}

const NICE_BUCKETS = [1000, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 3600_000, 6 * 3600_000, 86_400_000];

export function bucketFor(spanMs: number): number {
  return NICE_BUCKETS.find((b) => spanMs / b <= 48) ?? 86_400_000;
}

interface AggRow {
  variant: string;
  served: number;
  impressions: number;
  clicks: number;
  carts: number;
  conversions: number;
}
interface VisitorRow {
  variant: string;
  visitors: number;
  converters: number;
  revenue: number;
  revenue_sq: number;
}
interface SeriesRow {
  variant: string;
  b: number;
  served: number;
  impressions: number;
  clicks: number;
}

export async function experimentReport(env: Env, exp: Experiment, opts: { bucketMs?: number; now?: number } = {}): Promise<Report> {
  const now = opts.now ?? Date.now();
  const start = exp.started_at ?? exp.created_at;
  const end = exp.stopped_at ?? now;
  const bucketMs = opts.bucketMs ?? bucketFor(Math.max(1, end - start));
  const [agg, vis, ser] = await env.DB.batch([
    env.DB.prepare(
      `SELECT variant, COUNT(*) AS served, COUNT(impressed_at) AS impressions, COUNT(clicked_at) AS clicks, COUNT(carted_at) AS carts, COUNT(converted_at) AS conversions
       FROM rec_served WHERE experiment_id = ? GROUP BY variant`,
    ).bind(exp.id),
    env.DB.prepare(
      // TOTAL (a float that never overflows into an error or NULL) of values capped at MAX_EVENT_VALUE:
      // rows stored before the cap existed cannot turn a report's revenue into Infinity, NULL or 0.
      `SELECT variant, COUNT(*) AS visitors, TOTAL(conv) AS converters, TOTAL(rev) AS revenue, TOTAL(rev * rev) AS revenue_sq FROM (
         SELECT s.variant AS variant, COALESCE(s.unit_key, s.recommendation_id) AS unit, MAX(s.converted_at IS NOT NULL) AS conv, TOTAL(MIN(MAX(COALESCE(p.value, 0), 0), ${MAX_EVENT_VALUE})) AS rev
         FROM rec_served s LEFT JOIN rec_purchases p ON p.recommendation_id = s.recommendation_id
         WHERE s.experiment_id = ? GROUP BY s.variant, unit)
       GROUP BY variant`,
    ).bind(exp.id),
    env.DB.prepare(
      `SELECT variant, served_at / CAST(? AS INTEGER) AS b, COUNT(*) AS served, COUNT(impressed_at) AS impressions, COUNT(clicked_at) AS clicks
       FROM rec_served WHERE experiment_id = ? GROUP BY variant, b ORDER BY b`,
    ).bind(bucketMs, exp.id),
  ]);
  const aggBy = new Map((agg!.results as unknown as AggRow[]).map((r) => [r.variant, r]));
  const visBy = new Map((vis!.results as unknown as VisitorRow[]).map((r) => [r.variant, r]));
  // (D1 binds JS numbers as REAL: the CAST keeps the division integral so rows group by bucket.)
  const seriesRows = ser!.results as unknown as SeriesRow[];

  const control = controlOf(exp);
  const metric = exp.metric === 'click' ? 'ctr' : 'conversion_rate';
  const base = exp.variants.map((v) => {
    const a = aggBy.get(v.name);
    const u = visBy.get(v.name);
    const visitors = u?.visitors ?? 0;
    return {
      v,
      served: a?.served ?? 0,
      impressions: a?.impressions ?? 0,
      clicks: a?.clicks ?? 0,
      carts: a?.carts ?? 0,
      conversions: a?.conversions ?? 0,
      visitors,
      converters: u?.converters ?? 0,
      revenue: u?.revenue ?? 0,
      revenueSq: u?.revenue_sq ?? 0,
    };
  });
  const c = base.find((b) => b.v.name === control.name)!;
  const trialsOf = (b: (typeof base)[number]) => (metric === 'ctr' ? [b.clicks, b.impressions] : [b.converters, b.visitors]) as [number, number];

  // Sequential test: evaluate the mSPRT at the end of every bucket on cumulative counts.
  const buckets = [...new Set(seriesRows.map((r) => r.b))].sort((x, y) => x - y);
  const cum = new Map<string, { served: number; impressions: number; clicks: number }>();
  const points: SeriesPoint[] = [];
  const seqMin = new Map<string, { lambda: number; p: number }>();
  for (const b of buckets) {
    const rows = seriesRows.filter((r) => r.b === b);
    const total = rows.reduce((s, r) => s + r.served, 0);
    for (const v of exp.variants) {
      const r = rows.find((x) => x.variant === v.name);
      const acc = cum.get(v.name) ?? { served: 0, impressions: 0, clicks: 0 };
      acc.served += r?.served ?? 0;
      acc.impressions += r?.impressions ?? 0;
      acc.clicks += r?.clicks ?? 0;
      cum.set(v.name, acc);
      points.push({ t: b * bucketMs, variant: v.name, served: r?.served ?? 0, impressions: r?.impressions ?? 0, clicks: r?.clicks ?? 0, ctr: acc.impressions ? acc.clicks / acc.impressions : 0, share: total ? (r?.served ?? 0) / total : 0 });
    }
    if (metric === 'ctr') {
      const cc = cum.get(control.name)!;
      for (const v of exp.variants) {
        if (v.name === control.name) continue;
        const t = cum.get(v.name)!;
        const s = msprt(cc.clicks, cc.impressions, t.clicks, t.impressions, exp.mde);
        const prev = seqMin.get(v.name);
        if (!prev || s.p < prev.p) seqMin.set(v.name, s);
      }
    }
  }

  const variants: VariantKpis[] = base.map((b) => {
    const isControl = b.v.name === control.name;
    const [x2, n2] = trialsOf(b);
    const [x1, n1] = trialsOf(c);
    let sequential: VariantKpis['sequential'] = null;
    if (!isControl) {
      // For conversion (no per-bucket series) the final look is the only look.
      const s = metric === 'ctr' ? (seqMin.get(b.v.name) ?? { lambda: 1, p: 1 }) : msprt(x1, n1, x2, n2, exp.mde);
      sequential = { lambda: s.lambda, p: s.p, significant: s.p <= 0.05 };
    }
    return {
      name: b.v.name,
      control: isControl,
      strategy: b.v.strategy,
      weight: b.v.weight,
      served: b.served,
      visitors: b.visitors,
      impressions: b.impressions,
      clicks: b.clicks,
      add_to_carts: b.carts,
      conversions: b.conversions,
      converters: b.converters,
      revenue: Math.round(b.revenue * 100) / 100,
      ctr: proportionInterval(b.clicks, b.impressions),
      conversion_rate: proportionInterval(b.converters, b.visitors),
      revenue_per_visitor: meanInterval(b.visitors, b.revenue, b.revenueSq),
      uplift: isControl
        ? null
        : {
            ctr: proportionUplift(c.clicks, c.impressions, b.clicks, b.impressions),
            conversion_rate: proportionUplift(c.converters, c.visitors, b.converters, b.visitors),
            revenue_per_visitor: meanUplift({ n: c.visitors, sum: c.revenue, sumSq: c.revenueSq }, { n: b.visitors, sum: b.revenue, sumSq: b.revenueSq }),
          },
      z_test: isControl ? null : twoProportionZTest(x1, n1, x2, n2),
      sequential,
    };
  });

  const srm = exp.kind === 'ab' ? sampleRatioMismatch(base.map((b) => b.visitors), exp.variants.map((v) => v.weight)) : null;
  const [cx, cn] = trialsOf(c);
  const baseline = cn > 0 ? cx / cn : 0;
  const p2 = Math.min(0.999, baseline + exp.mde);
  const nPerArm = baseline > 0 ? sampleSizePerArm(baseline, p2) : null;

  let bandit: Report['bandit'] = null;
  if (exp.kind === 'bandit') {
    const counts: ContextCounts = await readBanditCounts(env, exp).catch(() => ({}));
    const arms = exp.variants.map((v) => v.name);
    const contexts: NonNullable<Report['bandit']>['contexts'] = {};
    const ctxNames = Object.keys(counts).length ? Object.keys(counts) : [''];
    for (const ctx of ctxNames) {
      const cc = counts[ctx] ?? {};
      const alloc = allocation(arms, cc, exp.bandit.min_exploration, seededRng(1), 4000);
      contexts[ctx] = Object.fromEntries(
        arms.map((a) => {
          const { alpha, beta } = posterior(cc[a]);
          return [a, { trials: cc[a]?.trials ?? 0, successes: cc[a]?.successes ?? 0, mean: alpha / (alpha + beta), allocation: alloc[a]! }];
        }),
      );
    }
    bandit = { contexts };
  }

  return {
    experiment: { id: exp.id, name: exp.name, slot: exp.slot, kind: exp.kind, status: exp.status, metric: exp.metric, mde: exp.mde, started_at: exp.started_at, stopped_at: exp.stopped_at },
    primary_metric: metric,
    variants,
    srm,
    power: { baseline, mde: exp.mde, n_per_arm: nPerArm, alpha: 0.05, power: 0.8 },
    series: { bucket_ms: bucketMs, points },
    bandit,
    generated_at: now,
  };
}
