/**
 * The training pipeline (npm run model:train and npm run model:retrain): tune retrieval and learn
 * the rank weights on the validation step (all but each user's last two interactions), then
 * build retrieval data from all interactions and export the model files.
 */
import { exportModel, type Exported } from './artifact';
import type { Dataset } from './dataset';
import { bar, phases } from './progress';
import { allSeqs, learnRank, type LearnedRank, RANK_SAMPLE } from './rank/fit';
import { DEFAULT_CONFIG, type TrainConfig, tune } from './train';

export interface TrainOptions {
  seed?: number;
  /** false: DEFAULT_CONFIG retrieval (no tuning) */
  tune?: boolean;
  tuneSample?: number;
  rankSample?: number;
  /** more facts for manifest.training */
  training?: Record<string, unknown>;
  /** called after each phase: read, tune, learn rank weights, retrieval data and shards */
  phase?: (name: string) => void;
}

export interface Trained {
  exported: Exported;
  config: TrainConfig;
  rank: LearnedRank;
}

export function trainModel(ds: Dataset, o: TrainOptions = {}): Trained {
  const seed = o.seed ?? 42;
  let config = { ...DEFAULT_CONFIG };
  const metrics: Record<string, unknown> = {};
  const training: Record<string, unknown> = { seed, trained_on: 'all interactions', ...o.training };
  let tunable = 0;
  for (const s of ds.seqs) if (s.length >= 3) tunable++;
  if (o.tune !== false && tunable >= 20) {
    const tr = tune(ds, seed, config, { sample: o.tuneSample ?? 8000, bar });
    config = { ...config, seqWeight: tr.config.seqWeight, historyDecay: tr.config.historyDecay };
    metrics.validation_retrieval_sample = tr.validation;
    training.tuned_on = `validation step (each user's second-to-last interaction) of a seeded sample of ${tr.sampleUsers} users`;
    o.phase?.('tune');
  }
  const progress = phases();
  const lr = learnRank(ds, config, seed, { sample: o.rankSample ?? RANK_SAMPLE, progress });
  progress.done();
  o.phase?.('learn rank weights');
  metrics.rank_learning = { examples: lr.examples, retrieval_recall: lr.recall, candidates_p50: lr.candidates_p50, loss: lr.loss, ndcg_examples: lr.ndcg_examples };
  const exported = exportModel({ ds, data: allSeqs(ds), config, weights: lr.weights, training, metrics, progress });
  progress.done();
  o.phase?.('retrieval data and shards');
  return { exported, config, rank: lr };
}
