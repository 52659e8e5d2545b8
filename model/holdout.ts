/**
 * The time-based holdout of `npm run model:retrain`: the candidate is trained on events before the
 * most recent day in the log (the 24 hours up to its newest event, so a day just begun is not a
 * near-empty holdout); the candidate and the active model are then scored on the same users
 * — those with history before that day and an interaction on it — as the worker serves them:
 * retrieval from the int8 neighbour shards with the worker's candidate code, then the rank graph
 * through onnxruntime-web. The target is each user's first new item on the last day; the whole
 * earlier history is masked. The same run yields the training-time statistics drift detection
 * compares the live traffic with (worker/ops/drift.ts): the mean top score and the category mix
 * of the lists served.
 */
import type { ModelLists, ModelManifest } from './contract';
import type { Dataset } from './dataset';
import type { EventRow } from './io';
import { MetricAcc, type Metrics } from './metrics';
import { createSession, runRank } from './ort';
import { allSeqs, candidatesFor } from './rank/fit';
import { InMemoryShards } from './rank/shard-set';

export const DAY_MS = 86_400_000;

export interface HoldoutSplit {
  /** start (ms) of the holdout day, 24 h before the newest event: training uses events before it */
  cutoff: number;
  /** the holdout window, ISO start/end */
  day: string;
  train: EventRow[];
  holdoutEvents: number;
}

/** Split 24 h before the newest event; null when nothing is older than that (no day to train on). */
export function lastDaySplit(events: EventRow[]): HoldoutSplit | null {
  if (!events.length) return null;
  let max = -Infinity;
  for (const e of events) max = Math.max(max, Number(e.ts));
  const cutoff = max - DAY_MS + 1;
  const train = events.filter((e) => Number(e.ts) < cutoff);
  if (!train.length) return null;
  const iso = (t: number) => new Date(t).toISOString().slice(0, 16) + 'Z';
  return { cutoff, day: `${iso(cutoff)}/${iso(max)}`, train, holdoutEvents: events.length - train.length };
}

/** A model's files as served (a ReadArtifact or an export). */
export interface ServedModel {
  manifest: ModelManifest;
  rank: Uint8Array;
  lists: Uint8Array;
  shards: Uint8Array[];
}

export interface HoldoutResult extends Metrics {
  /** mean score of the top item of each list (the live `score` stream) */
  score_mean: number | null;
  /** categories of the items in the lists, as shares (the live `category` stream) */
  category_shares: Record<string, number>;
}

/** The users the holdout scores: index and the position of their first entry on the last day. */
export function holdoutUsers(ds: Dataset, cutoff: number): { u: number; upto: number }[] {
  const out: { u: number; upto: number }[] = [];
  ds.times.forEach((t, u) => {
    let upto = 0;
    while (upto < t.length && t[upto]! < cutoff) upto++;
    if (upto >= 1 && upto < t.length) out.push({ u, upto });
  });
  return out;
}

export async function evaluateOnHoldout(ds: Dataset, cutoff: number, model: ServedModel, k = 10): Promise<HoldoutResult> {
  const lists = JSON.parse(new TextDecoder().decode(model.lists)) as ModelLists;
  const shards = new InMemoryShards(model.shards);
  const session = await createSession(model.rank);
  const all = allSeqs(ds);
  const acc = new MetricAcc();
  const categories: Record<string, number> = {};
  let scoreSum = 0;
  let scored = 0;
  try {
    for (const { u, upto } of holdoutUsers(ds, cutoff)) {
      const c = candidatesFor(ds, all, u, upto, model.manifest.retrieval.history_decay, (ids) => shards.lists(ids), { lists });
      const r = await runRank(session, c.features, c.ids.length, k);
      const top = r.indices.map((i) => c.ids[i]!);
      acc.add(top.indexOf(ds.itemIds[ds.seqs[u]![upto]!]!));
      if (r.scores.length) (scoreSum += r.scores[0]!, scored++);
      for (const id of top) {
        const cat = ds.items[ds.itemIndex.get(id) ?? -1]?.category ?? '(none)';
        categories[cat] = (categories[cat] ?? 0) + 1;
      }
    }
  } finally {
    await session.release();
  }
  const total = Object.values(categories).reduce((a, b) => a + b, 0) || 1;
  const shares = Object.fromEntries(Object.entries(categories).map(([c, n]) => [c, Math.round((n / total) * 1e4) / 1e4]));
  return { ...acc.get(), score_mean: scored ? scoreSum / scored : null, category_shares: shares };
}

export interface Comparison {
  publish: boolean;
  reason: string;
}

/** Users the holdout needs before a comparison means anything. */
export const MIN_HOLDOUT_USERS = 20;

/**
 * Not worse = NDCG@10 at least the active model's minus `tolerance` (absolute; 0 by default), on
 * the same holdout users. Too few users, or no active model to compare with, is not a yes.
 */
export function compareModels(candidate: Metrics, active: Metrics | null, tolerance = 0): Comparison {
  if (candidate.users < MIN_HOLDOUT_USERS) return { publish: false, reason: `only ${candidate.users} holdout users (at least ${MIN_HOLDOUT_USERS} needed for a comparison)` };
  if (!active) return { publish: false, reason: 'there is no active model to compare with (a canary needs one to run against); publish the first model with npm run model:publish' };
  const d = candidate.ndcg - active.ndcg;
  const f = (x: number) => x.toFixed(4);
  if (d < -tolerance) return { publish: false, reason: `worse than the active model: NDCG@10 ${f(candidate.ndcg)} vs ${f(active.ndcg)} (${f(d)}; tolerance ${f(tolerance)})` };
  return { publish: true, reason: `not worse than the active model: NDCG@10 ${f(candidate.ndcg)} vs ${f(active.ndcg)} (${d >= 0 ? '+' : ''}${f(d)}), HR@10 ${f(candidate.hr)} vs ${f(active.hr)}` };
}
