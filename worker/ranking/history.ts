/**
 * Turns what we know about a shopper (session features, long-term profile, page context)
 * into the model's inputs (see docs/model-contract.md).
 */
import { CONTEXT_DIM, DEVICES } from '../../model/contract';
import type { ItemFacts } from '../catalog/types';
import type { LoadedModel } from '../inference/model-store';
import type { SessionFeatures } from '../session/durable-object';
import { EVENT_STRENGTH, type EventType } from '../session/profile';

export const MAX_HISTORY = 64;
/** Recency decay per position when the manifest does not say what the model was trained with. */
const DEFAULT_DECAY = 0.7;
const PROFILE_DECAY = 0.9;
const PROFILE_WEIGHT = 0.5;
const CONTEXT_ITEM_WEIGHT = 5;

export function attrKeys(item: Pick<ItemFacts, 'category' | 'brand'>): string[] {
  const out: string[] = [];
  if (item.category) out.push(`category:${item.category}`);
  if (item.brand) out.push(`brand:${item.brand}`);
  return out;
}

export interface ModelInputs {
  histItems: number[];
  histWeights: number[];
  userAttrs: Float32Array;
  context: Float32Array;
}

export function contextVector(hour: number, device: (typeof DEVICES)[number] | undefined): Float32Array {
  const v = new Float32Array(CONTEXT_DIM);
  v[0] = 1;
  v[1 + Math.min(3, Math.floor(hour / 6))] = 1;
  v[5 + DEVICES.indexOf(device ?? 'other')] = 1;
  return v;
}

function normalizedInto(target: Float32Array, attrs: Record<string, number>, index: Map<string, number>): void {
  const max = Math.max(0, ...Object.values(attrs));
  if (max <= 0) return;
  for (const [a, w] of Object.entries(attrs)) {
    const i = index.get(a);
    if (i !== undefined) target[i]! += w / max;
  }
}

export function modelInputs(
  model: LoadedModel,
  features: SessionFeatures | null,
  contextItemId: string | undefined,
  hour: number,
  device: (typeof DEVICES)[number] | undefined,
): ModelInputs {
  // Weight history as the model saw it in training (manifest.training.history_weighting).
  const decay = (model.manifest.training as { history_weighting?: { recency_decay?: number } }).history_weighting?.recency_decay ?? DEFAULT_DECAY;
  const weights = new Map<number, number>();
  const add = (id: string, w: number) => {
    const i = model.itemIndex.get(id);
    if (i !== undefined && w > 0) weights.set(i, (weights.get(i) ?? 0) + w);
  };
  if (contextItemId) add(contextItemId, CONTEXT_ITEM_WEIGHT);
  features?.recent.forEach((r, pos) => add(r.itemId, (EVENT_STRENGTH[r.type as EventType] ?? 1) * decay ** pos));
  features?.profile?.recentItems.forEach((id, pos) => add(id, PROFILE_WEIGHT * PROFILE_DECAY ** pos));
  const top = [...weights.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_HISTORY);
  const userAttrs = new Float32Array(model.manifest.attributes.length);
  if (features?.profile) normalizedInto(userAttrs, features.profile.affinities, model.attrIndex);
  if (features) normalizedInto(userAttrs, features.attrs, model.attrIndex);
  return {
    histItems: top.length ? top.map(([i]) => i) : [0],
    histWeights: top.length ? top.map(([, w]) => w) : [0],
    userAttrs,
    context: contextVector(hour, device),
  };
}
