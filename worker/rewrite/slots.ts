/**
 * Slots on one page: what a storefront asks for in its markup, computed once per slot,
 * concurrently, and rendered with the slot's template, each within a time budget.
 *
 * Markup (all attributes optional except the slot name):
 *   data-p13n-slot="home-recs"      slot name (merchandising rules and template are per slot)
 *   data-p13n-k="4"                 number of items (default 4 in HTML slots)
 *   data-p13n-template="compact"    use the template stored for that slot config name instead
 *   data-p13n-category="a,b"        category filter        data-p13n-brand="x,y"   brand filter
 *   data-p13n-item="sku-1"          product context ("similar / bought together")
 *   data-p13n-exclude="sku-2,sku-3" items never to show    data-p13n-price-min / -max
 *   data-p13n-budget="20"           a tighter time budget for this slot (ms); it can only lower
 *                                   SLOT_BUDGET_MS, never raise it; "0" = use it only if it is ready
 * The element's own content is the fallback: it stays when the budget runs out, on any error,
 * when the request is invalid, or when no item qualifies.
 */
import { renderBlock } from '../render/block';
import { Timing } from '../lib/timing';
import { RecommendationRequestSchema, type RecommendationResponse } from '../schemas/recommendations';
import { serveSlot } from '../serving/pipeline';
import type { Shopper } from '../identity/shopper';
import { log } from '../ops/log';

export const SLOT_SELECTOR = '[data-p13n-slot]';
export const DEFAULT_SLOT_K = 4;
export const DEFAULT_BUDGET_MS = 50;
/** More slots than this on one page are left as they are. */
export const MAX_SLOTS_PER_PAGE = 12;

export interface SlotAttrs {
  slot: string;
  k?: string;
  template?: string;
  category?: string;
  brand?: string;
  item?: string;
  exclude?: string;
  priceMin?: string;
  priceMax?: string;
  budget?: string;
}

export type SlotOutcome =
  | { state: 'filled'; html: string; rec: RecommendationResponse }
  | { state: 'timeout' | 'error' | 'invalid' | 'empty' | 'skipped'; detail?: string };

interface Task {
  attrs: SlotAttrs;
  startedAt: number;
  result: Promise<SlotOutcome>;
  settled?: SlotOutcome;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** HTMLRewriter hands out attribute values as written; decode character references (values are matched against catalog ids). */
export function decodeAttr(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED[ref.toLowerCase()] ?? m;
  });
}

export function readSlotAttrs(el: { getAttribute(name: string): string | null }): SlotAttrs {
  const get = (n: string) => {
    const v = el.getAttribute(`data-p13n-${n}`);
    return v === null ? undefined : decodeAttr(v);
  };
  return {
    slot: (get('slot') ?? '').trim(),
    k: get('k'),
    template: get('template'),
    category: get('category'),
    brand: get('brand'),
    item: get('item'),
    exclude: get('exclude'),
    priceMin: get('price-min'),
    priceMax: get('price-max'),
    budget: get('budget'),
  };
}

export interface PlannerDeps {
  env: Env;
  shopper: Promise<Shopper>;
  waitUntil: (p: Promise<unknown>) => void;
  budgetMs: number;
  device?: 'mobile' | 'desktop' | 'other';
  /** the request's p13n_sv stamp (worker/session/stamp.ts) */
  sessionStamp?: number;
}

/** One turn of the event loop: lets the page's first bytes go out before a slot's CPU work starts. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Slot computations of one response, keyed by the slot's position in the document (the
 * n-th element matching SLOT_SELECTOR): whichever pass meets a slot first starts it.
 */
export class SlotPlanner {
  private readonly tasks = new Map<number, Task>();

  /** Reads the page's slots share (their session's features). */
  private readonly pageReads = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: PlannerDeps) {}

  /** Start the slot's computation if it is not running yet. Never throws. */
  start(index: number, attrs: SlotAttrs): Task {
    let task = this.tasks.get(index);
    if (task) return task;
    const startedAt = performance.now();
    const result =
      index >= MAX_SLOTS_PER_PAGE
        ? Promise.resolve<SlotOutcome>({ state: 'skipped', detail: 'too many slots on the page' })
        : nextTurn()
            .then(() => this.compute(attrs))
            .catch((e: unknown): SlotOutcome => ({ state: 'error', detail: String((e as Error)?.message ?? e) }));
    const t: Task = { attrs, startedAt, result };
    result.then((out) => (t.settled = out));
    task = t;
    this.tasks.set(index, task);
    // The computation may outlive its budget; let it finish (it warms caches) without holding the page.
    this.deps.waitUntil(result);
    return task;
  }

  /** The slot's outcome, or 'timeout' once its budget (counted from its start) is spent. */
  async outcome(index: number, attrs: SlotAttrs): Promise<SlotOutcome> {
    const task = this.start(index, attrs);
    const own = attrs.budget !== undefined && attrs.budget.trim() !== '' ? Number(attrs.budget) : NaN;
    const budgetMs = Number.isFinite(own) && own >= 0 ? Math.min(own, this.deps.budgetMs) : this.deps.budgetMs;
    const remaining = task.startedAt + budgetMs - performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<SlotOutcome>((resolve) => {
      const expire = () => resolve({ state: 'timeout', detail: `budget ${budgetMs} ms` });
      if (remaining <= 0) expire();
      else timer = setTimeout(expire, remaining);
    });
    try {
      const out = task.settled ?? (await Promise.race([task.result, timeout]));
      if (out.state !== 'filled') log('warn', 'slot_fallback', { slot: attrs.slot, state: out.state, detail: out.detail });
      return out;
    } finally {
      clearTimeout(timer);
    }
  }

  private async compute(attrs: SlotAttrs): Promise<SlotOutcome> {
    const shopper = await this.deps.shopper;
    const parsed = RecommendationRequestSchema.safeParse({
      slot: attrs.slot,
      k: attrs.k ?? DEFAULT_SLOT_K,
      ...(attrs.item ? { item_id: attrs.item } : {}),
      ...(attrs.category ? { category: attrs.category } : {}),
      ...(attrs.brand ? { brand: attrs.brand } : {}),
      ...(attrs.exclude ? { exclude: attrs.exclude } : {}),
      ...(attrs.priceMin ? { price_min: attrs.priceMin } : {}),
      ...(attrs.priceMax ? { price_max: attrs.priceMax } : {}),
      // Identifiers only with full consent (the identity module hands out none otherwise).
      ...(shopper.consent === 'full' && shopper.sessionId ? { session_id: shopper.sessionId } : {}),
      ...(this.deps.device ? { device: this.deps.device } : {}),
    });
    if (!parsed.success) return { state: 'invalid', detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    const { env, waitUntil } = this.deps;
    const { response: rec, template, display } = await serveSlot(
      { ...parsed.data, template_slot: attrs.template?.trim() || undefined },
      {
        env,
        timing: new Timing(),
        waitUntil,
        newSession: shopper.consent === 'full' && shopper.newSession === true,
        shopper: { userId: shopper.consent === 'full' ? (shopper.userId ?? null) : null },
        sessionStamp: this.deps.sessionStamp,
        pageReads: this.pageReads,
      },
    );
    if (!rec.items.length) return { state: 'empty' };
    return { state: 'filled', html: renderBlock(rec, template.html, display), rec };
  }
}
