/**
 * Long-term profile arithmetic, shared by the session object (its cached copy) and the
 * batched D1 flush, so both fold events in the same way.
 */
export const EVENT_STRENGTH = { impression: 0, view: 1, click: 2, add_to_cart: 3, purchase: 5 } as const;
export type EventType = keyof typeof EVENT_STRENGTH;

export const LIMITS = { recent: 50, attrs: 100, purchases: 200, profileRecent: 50, profileAttrs: 200 } as const;

export interface SessionEvent {
  eventId: string;
  type: EventType;
  itemId: string;
  ts: number;
  value?: number | null;
  /** Attributes of the item at event time ("category:x", "brand:y"), from the catalog. */
  attrs: string[];
  /** The recommendation the event came from, if any (last-touch attribution of purchases). */
  recommendationId?: string | null;
}

export interface ProfileData {
  affinities: Record<string, number>;
  recentItems: string[];
  purchases: string[];
  eventCount: number;
  purchaseCount: number;
  monetary: number;
  lastPurchaseAt: number | null;
  firstSeen: number;
  lastSeen: number;
}

export function emptyProfile(now: number): ProfileData {
  return { affinities: {}, recentItems: [], purchases: [], eventCount: 0, purchaseCount: 0, monetary: 0, lastPurchaseAt: null, firstSeen: now, lastSeen: now };
}

/** Keep the `n` largest entries of a weight map (bounded state). */
export function topEntries(m: Record<string, number>, n: number): Record<string, number> {
  const e = Object.entries(m);
  if (e.length <= n) return m;
  return Object.fromEntries(e.sort((a, b) => b[1] - a[1]).slice(0, n));
}

function pushFront(list: string[], id: string, cap: number): string[] {
  return [id, ...list.filter((x) => x !== id)].slice(0, cap);
}

/** Fold events (oldest first) into a profile; returns a new object. */
export function applyEvents(p: ProfileData, events: SessionEvent[]): ProfileData {
  const out: ProfileData = { ...p, affinities: { ...p.affinities } };
  for (const ev of events) {
    const w = EVENT_STRENGTH[ev.type];
    if (w === 0) continue;
    out.eventCount += 1;
    out.firstSeen = Math.min(out.firstSeen, ev.ts);
    out.lastSeen = Math.max(out.lastSeen, ev.ts);
    for (const a of ev.attrs) out.affinities[a] = (out.affinities[a] ?? 0) + w;
    out.recentItems = pushFront(out.recentItems, ev.itemId, LIMITS.profileRecent);
    if (ev.type === 'purchase') {
      out.purchases = pushFront(out.purchases, ev.itemId, LIMITS.purchases);
      out.purchaseCount += 1;
      out.monetary += ev.value ?? 0;
      out.lastPurchaseAt = Math.max(out.lastPurchaseAt ?? 0, ev.ts);
    }
  }
  out.affinities = topEntries(out.affinities, LIMITS.profileAttrs);
  return out;
}
