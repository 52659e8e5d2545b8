/**
 * Turns what we know about a shopper (session features, long-term profile, page context) into
 * the retrieval stage's view of them (worker/ranking/two-stage/candidates.ts): their history,
 * most recent first, weighted by recency decay × event strength as the model was trained.
 */
import type { Device } from '../../model/contract';
import type { ItemFacts } from '../catalog/types';
import type { LoadedModel } from '../inference/model-store';
import type { SessionFeatures } from '../session/durable-object';
import { EVENT_STRENGTH, type EventType } from '../session/profile';
import type { HistoryItem, Shopper } from './two-stage/candidates';

const PROFILE_DECAY = 0.9;
const PROFILE_WEIGHT = 0.5;
/** The product on the page weighs like a fresh purchase: the list is about it first. */
const CONTEXT_ITEM_WEIGHT = 5;

export function attrKeys(item: Pick<ItemFacts, 'category' | 'brand'>): string[] {
  const out: string[] = [];
  if (item.category) out.push(`category:${item.category}`);
  if (item.brand) out.push(`brand:${item.brand}`);
  return out;
}

const ACTION: Record<string, string> = { view: 'viewed', click: 'viewed', add_to_cart: 'added', purchase: 'bought' };

export function shopperFor(model: LoadedModel, features: SessionFeatures | null, contextItemId: string | undefined, hour: number, device: Device | undefined): Shopper {
  const decay = model.manifest.retrieval.history_decay;
  const byId = new Map<string, HistoryItem>();
  let position = 0;
  const add = (id: string, w: number, action?: string) => {
    if (w <= 0) return;
    const h = byId.get(id);
    if (h) h.weight += w;
    else byId.set(id, { id, weight: w, position: position++, action });
  };
  if (contextItemId) add(contextItemId, CONTEXT_ITEM_WEIGHT, 'context');
  features?.recent.forEach((r, pos) => add(r.itemId, (EVENT_STRENGTH[r.type as EventType] ?? 1) * decay ** pos, ACTION[r.type]));
  features?.profile?.recentItems.forEach((id, pos) => add(id, PROFILE_WEIGHT * PROFILE_DECAY ** pos, 'viewed'));
  const history = [...byId.values()]
    .sort((a, b) => b.weight - a.weight)
    .slice(0, model.manifest.retrieval.max_history)
    .sort((a, b) => a.position - b.position);
  const longTerm: Record<string, number> = { ...features?.profile?.affinities };
  for (const [k, w] of Object.entries(features?.attrs ?? {})) longTerm[k] = (longTerm[k] ?? 0) + w;
  return { history, longTerm, hour, device };
}
