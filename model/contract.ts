/**
 * The model contract (version 2: retrieve, then rank): the one place that names the ranking
 * graph's inputs and outputs, the candidate feature vector and the artifact files. The trainer
 * (model/) writes artifacts under these names and the worker (worker/inference/,
 * worker/ranking/two-stage/) reads them. docs/model-contract.md explains each one.
 */
export const CONTRACT_VERSION = 2;

export const HOUR_BUCKETS = ['night', 'morning', 'afternoon', 'evening'] as const; // 0-5, 6-11, 12-17, 18-23 (shop local time)
export const DEVICES = ['mobile', 'desktop', 'other'] as const;
export type Device = (typeof DEVICES)[number];

export function hourBucket(hour: number): number {
  return Math.min(3, Math.max(0, Math.floor(hour / 6)));
}

/**
 * The rank stage's input: one row of these features per candidate. Order is the column order
 * of the `features` tensor; the trainer learns one weight per feature (docs/model.md).
 */
export const FEATURES = [
  /** Σ over history items of (normalised history weight × collaborative neighbour weight) */
  'nbr_score',
  /** the largest single collaborative neighbour weight from any history item */
  'nbr_max',
  /** recency of the most recent history item that retrieved the candidate (decay^position, 0 if none) */
  'trigger_recency',
  /** log(1 + number of history items whose lists retrieved the candidate) */
  'triggers',
  /** Σ over history items of (normalised history weight × content similarity) from content neighbour lists */
  'content_score',
  /** IDF cosine between the shopper's attribute profile (history + long-term) and the candidate's attributes */
  'attribute_match',
  /** log-popularity in training, scaled to [0, 1] */
  'popularity',
  /** recent-versus-usual interaction rate, log ratio clamped to [-1, 1] */
  'trend',
  /** the shopper's share of attention on the candidate's category (session + profile), [0, 1] */
  'category_affinity',
  /** same for the brand */
  'brand_affinity',
  /** the shopper's share of attention on the candidate's price band */
  'price_affinity',
  /** how much the candidate's category over-performs in this hour bucket (log ratio from training) */
  'hour_match',
  /** how much the candidate's category over-performs on this device (log ratio from training) */
  'device_match',
  /** 1 when only a popularity / trending / category list retrieved the candidate */
  'from_lists',
] as const;
export type FeatureName = (typeof FEATURES)[number];
export const F = FEATURES.length;
export const FEATURE_INDEX = Object.fromEntries(FEATURES.map((f, i) => [f, i])) as Record<FeatureName, number>;

export const INPUTS = {
  /** float32 [C, F]: one feature row per candidate (C >= 1). */
  features: 'features',
  /** int64 [1]: how many candidates to return (1 <= k <= C). */
  k: 'k',
} as const;

export const OUTPUTS = {
  /** float32 [k]: scores of the top candidates, descending. */
  topScores: 'top_scores',
  /** int64 [k]: row indices into `features` (ties broken by the lower row). */
  topIndices: 'top_indices',
} as const;

export const SPEC = {
  [INPUTS.features]: { type: 'float32', dims: ['C', F] },
  [INPUTS.k]: { type: 'int64', dims: [1] },
  [OUTPUTS.topScores]: { type: 'float32', dims: ['k'] },
  [OUTPUTS.topIndices]: { type: 'int64', dims: ['k'] },
} as const;

/** Files of a model version folder `models/<version>/` (R2). */
export const FILES = {
  manifest: 'manifest.json',
  rank: 'rank.onnx',
  lists: 'lists.json',
  /** neighbour shard s: `neighbours/<s>.bin` (model/format/shards.ts) */
  shardDir: 'neighbours/',
} as const;

export function shardFile(s: number): string {
  return `${FILES.shardDir}${s}.bin`;
}

/** Lists and tables every request may need: small, loaded once per model (lists.json). */
export interface ListedItem {
  id: string;
  /** popularity feature [0, 1] */
  pop: number;
  trend: number;
  /** indices into `attributes` */
  attrs: number[];
}

export interface ModelLists {
  /** attribute vocabulary ("category:x", "brand:y", "price:2", "tag:z") and each one's IDF weight */
  attributes: string[];
  idf: number[];
  /** most popular items in training, best first */
  popular: ListedItem[];
  /** items whose recent rate most exceeds their usual one, best first */
  trending: ListedItem[];
  /** per category: its most popular items */
  categoryPopular: Record<string, ListedItem[]>;
  /** per category: log-ratio of its share in each hour bucket versus all categories' */
  hour: Record<string, number[]>;
  /** per category: log-ratio per device (DEVICES order) */
  device: Record<string, number[]>;
  /** price band cut points (ascending); band b = number of cuts <= price */
  priceCuts: number[];
}

export interface ModelManifest {
  contract: typeof CONTRACT_VERSION;
  version: string;
  created_at: string;
  dims: { items: number; features: number; neighbours: number; content_neighbours: number; shards: number };
  features: readonly string[];
  /** the learned rank weights (also inside rank.onnx), by feature name: for explanations and drift */
  weights: Record<string, number>;
  files: {
    /** rank.onnx */
    model: string;
    sha256: string;
    bytes: number;
    lists: { name: string; sha256: string; bytes: number };
    /** per shard, in shard order */
    shards: { sha256: string; bytes: number }[];
    /** every file of the version together */
    total_bytes: number;
  };
  /** How the worker must build the history it retrieves from (as the trainer did). */
  retrieval: { history_decay: number; max_history: number; popular: number; trending: number; category_popular: number };
  quantization: { neighbour_weights: 'int8'; scales: 'per-list' };
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
}
