/**
 * Fitting the retrieve-then-rank model: retrieval data from the training sequences, rank
 * weights learned on the validation step (each user's second-to-last interaction predicted
 * from the ones before, with retrieval built without it), and the artifact files.
 */
import { F, FEATURES } from '../contract';
import type { Dataset } from '../dataset';
import { retrieve } from '../../worker/ranking/two-stage/candidates';
import { seededRng } from '../../worker/lib/rng';
import type { NeighbourEntry } from '../format/shards';
import type { TrainConfig } from '../train';
import { coordinateAscent, type Example, learnWeights, ndcgAt10 } from './learn';
import { factsOf, shopperAt } from './requests';
import { floatLists, retrievalData, type RetrievalData, type TrainSeqs } from './retrieval-data';

export const MAX_HISTORY = 64;

/** Users whose validation step becomes a rank example (at most). */
export const RANK_SAMPLE = 20_000;

/** Below this many validation examples the weights are not learned: the defaults below apply. */
export const MIN_EXAMPLES = 50;

/** Retrieval's own score with a little content and popularity: the hand-tuned blend of the v1 model. */
export function defaultWeights(): Float32Array {
  const w = new Float32Array(F);
  w[FEATURES.indexOf('nbr_score')] = 1;
  w[FEATURES.indexOf('content_score')] = 0.1;
  w[FEATURES.indexOf('attribute_match')] = 0.1;
  w[FEATURES.indexOf('popularity')] = 0.03;
  return w;
}

/** The dataset's sequences with each user's last `drop` interactions removed. */
export function dropLast(ds: Dataset, drop: number): TrainSeqs {
  const cut = <T extends { subarray(a: number, b: number): T; length: number }>(s: T) => s.subarray(0, Math.max(0, s.length - drop));
  const devices = (ds as { devices?: Uint8Array[] }).devices;
  return { seqs: ds.seqs.map(cut), strengths: ds.strengths.map(cut), times: ds.times.map(cut), devices: devices?.map(cut) };
}

export function allSeqs(ds: Dataset): TrainSeqs {
  return { seqs: ds.seqs, strengths: ds.strengths, times: ds.times, devices: (ds as { devices?: Uint8Array[] }).devices };
}

export interface LearnedRank {
  weights: Float32Array;
  examples: number;
  /** share of sampled users whose next item was among the candidates (retrieval recall) */
  recall: number;
  candidates_p50: number;
  loss: number;
  /** NDCG@10 of the chosen weights on the held-out fifth of the examples (users whose next item was retrieved) */
  ndcg_examples: number;
}

/** Candidates and features for user u predicting step `upto`, with the whole history before it excluded. */
export function candidatesFor(ds: Dataset, all: TrainSeqs, u: number, upto: number, decay: number, neighbours: (ids: string[]) => Map<string, NeighbourEntry>, rd: Pick<RetrievalData, 'lists'>) {
  const shopper = shopperAt(ds, all, u, upto, decay, MAX_HISTORY);
  const seen = new Set<string>();
  const s = all.seqs[u]!;
  for (let p = 0; p < upto; p++) seen.add(ds.itemIds[s[p]!]!);
  return retrieve({
    shopper,
    lists: rd.lists,
    neighbours: neighbours(shopper.history.map((h) => h.id)),
    facts: factsOf(ds),
    allow: (id) => !seen.has(id),
    decay,
  });
}

export function learnRank(ds: Dataset, cfg: TrainConfig, seed: number, o: { sample?: number; progress?: (phase: string, d: number, t: number) => void } = {}): LearnedRank {
  const val = dropLast(ds, 2);
  const rd = retrievalData(ds, val, cfg, { progress: o.progress });
  const all = allSeqs(ds);
  const eligible: number[] = [];
  ds.seqs.forEach((s, u) => s.length >= 3 && eligible.push(u));
  const r = seededRng(seed + 1);
  const size = Math.min(eligible.length, o.sample ?? RANK_SAMPLE);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(r() * (eligible.length - i));
    [eligible[i], eligible[j]] = [eligible[j]!, eligible[i]!];
  }
  const users = eligible.slice(0, size).sort((a, b) => a - b);
  const neighbours = (ids: string[]) => floatLists(rd, ds, ids);
  const examples: Example[] = [];
  const sizes: number[] = [];
  users.forEach((u, x) => {
    const s = ds.seqs[u]!;
    const upto = s.length - 2;
    const c = candidatesFor(ds, all, u, upto, cfg.historyDecay, neighbours, rd);
    sizes.push(c.ids.length);
    const target = c.ids.indexOf(ds.itemIds[s[upto]!]!);
    if (target >= 0) examples.push({ features: c.features, rows: c.ids.length, target });
    if ((x & 255) === 255) o.progress?.('rank examples', x + 1, users.length);
  });
  if (examples.length < MIN_EXAMPLES) {
    sizes.sort((a, b) => a - b);
    return { weights: defaultWeights(), examples: examples.length, recall: examples.length / Math.max(1, users.length), candidates_p50: sizes[Math.floor(sizes.length / 2)] ?? 0, loss: NaN, ndcg_examples: NaN };
  }
  // Every fifth example is held out to choose among the fits below: on small data (ML-100K's 943
  // users) a search on NDCG can fit noise, and then retrieval's own score is the better choice.
  const fitOn = examples.filter((_, i) => i % 5 !== 4);
  const heldOut = examples.filter((_, i) => i % 5 === 4);
  const soft = learnWeights(fitOn, { progress: (d, t) => o.progress?.('rank weights: likelihood', d, t) });
  const plain = new Float32Array(F);
  plain[0] = 1;
  // The NDCG search starts from whichever is better: the likelihood fit, or retrieval's own score.
  const init = ndcgAt10(fitOn, soft.weights) >= ndcgAt10(fitOn, plain) ? soft.weights : plain;
  const ca = coordinateAscent(fitOn, init, soft.sd, { progress: (d, t) => o.progress?.('rank weights: NDCG@10', d, t) });
  const choices = [ca.weights, soft.weights, plain].map((w) => ({ w, ndcg: ndcgAt10(heldOut, w) }));
  const best = choices.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
  const weights = best.w;
  const loss = soft.loss;
  sizes.sort((a, b) => a - b);
  return { weights, examples: examples.length, recall: examples.length / Math.max(1, users.length), candidates_p50: sizes[Math.floor(sizes.length / 2)] ?? 0, loss, ndcg_examples: best.ndcg };
}

export function weightsByName(w: Float32Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let f = 0; f < F; f++) out[FEATURES[f]!] = Math.round(w[f]! * 1e6) / 1e6;
  return out;
}
