/**
 * The model contract: the one place that names the ONNX graph's inputs and outputs.
 * The trainer/exporter (model/) writes graphs with these names and the worker
 * (worker/inference/) feeds them. docs/model-contract.md explains each one.
 */
export const CONTRACT_VERSION = 1;

/** Context vector layout: [bias, hour bucket one-hot ×4, device one-hot ×3]. */
export const CONTEXT_DIM = 8;
export const HOUR_BUCKETS = ['night', 'morning', 'afternoon', 'evening'] as const; // 0-5, 6-11, 12-17, 18-23 (shop local time)
export const DEVICES = ['mobile', 'desktop', 'other'] as const;

export const INPUTS = {
  /** int64 [H]: manifest indices of the shopper's history items, most recent first (H >= 1; pad with index 0). */
  histItems: 'hist_items',
  /** float32 [H]: weight of each history item (recency x event strength); 0 for padding. */
  histWeights: 'hist_weights',
  /** float32 [A]: long-term affinities over the manifest's attribute vocabulary (the user's long-term vector). */
  userAttrs: 'user_attrs',
  /** float32 [C]: context vector, see CONTEXT_DIM. */
  context: 'context',
  /** float32 [N]: 1 = candidate, 0 = excluded (bought, out of stock, filtered). */
  itemMask: 'item_mask',
  /** int64 [1]: how many items to return (1 <= k <= N). */
  k: 'k',
} as const;

export const OUTPUTS = {
  /** float32 [k]: scores of the top items, descending. */
  topScores: 'top_scores',
  /** int64 [k]: manifest indices of the top items (ties broken by lower index). */
  topIndices: 'top_indices',
} as const;

/** Element type and 1-D length of every tensor ('H' = history length, 'N' items, 'A' attributes, 'k' requested). */
export const SPEC = {
  [INPUTS.histItems]: { type: 'int64', dim: 'H' },
  [INPUTS.histWeights]: { type: 'float32', dim: 'H' },
  [INPUTS.userAttrs]: { type: 'float32', dim: 'A' },
  [INPUTS.context]: { type: 'float32', dim: CONTEXT_DIM },
  [INPUTS.itemMask]: { type: 'float32', dim: 'N' },
  [INPUTS.k]: { type: 'int64', dim: 1 },
  [OUTPUTS.topScores]: { type: 'float32', dim: 'k' },
  [OUTPUTS.topIndices]: { type: 'int64', dim: 'k' },
} as const;

/** Excluded items score at or below this; the worker drops them from answers. */
export const MASKED_SCORE = -1e9;

export interface ModelManifest {
  contract: typeof CONTRACT_VERSION;
  version: string;
  created_at: string;
  /** Item ids in index order: index i of every tensor is items[i]. */
  items: string[];
  /** Attribute vocabulary (e.g. "category:skin", "brand:acme", "price:3", "tag:vegan") in index order. */
  attributes: string[];
  dims: { items: number; attributes: number; context: number; neighbours: number; max_item_attributes: number };
  files: { model: string; sha256: string; bytes: number; float_bytes?: number };
  quantization: { weights: 'int8' | 'float32'; scales: 'per-row' | 'per-channel' | 'none' };
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
}
