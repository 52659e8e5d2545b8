/**
 * Deterministic demo shop (no network): a catalog over 12 categories with brands, prices and tags,
 * and shoppers with category-coherent sessions of view / click / add_to_cart / purchase events.
 * Used by the worker's demo and tests, and by the benchmark (`--items 50000`).
 * Its output is pinned by tests; the large synthetic store (model/synthetic.ts, `npm run data:synthetic`)
 * shares this vocabulary but is a separate streaming generator.
 */
import type { EventRow, EventType, ItemRow } from './io';
import { rng } from './train';

export interface DemoOptions {
  items?: number;
  users?: number;
  seed?: number;
  /** first event time, epoch ms */
  start?: number;
}

export const DEMO_CATEGORIES = [
  'skincare', 'makeup', 'haircare', 'fragrance', 'bath', 'nails', 'tools', 'men', 'suncare', 'wellness', 'kids', 'gifts',
] as const;

export const TAGS: Record<string, string[]> = {
  skincare: ['moisturizer', 'serum', 'cleanser', 'toner', 'mask', 'retinol', 'vitamin-c', 'sensitive'],
  makeup: ['lipstick', 'mascara', 'foundation', 'eyeliner', 'blush', 'palette', 'long-wear', 'matte'],
  haircare: ['shampoo', 'conditioner', 'hair-oil', 'styling', 'curly', 'color-safe', 'repair', 'dry-shampoo'],
  fragrance: ['floral', 'woody', 'citrus', 'fresh', 'oriental', 'eau-de-parfum', 'eau-de-toilette', 'mini'],
  bath: ['body-wash', 'bath-salts', 'scrub', 'lotion', 'soap', 'bubble', 'relaxing', 'exfoliating'],
  nails: ['polish', 'gel', 'top-coat', 'remover', 'nail-care', 'nail-art', 'quick-dry', 'pastel'],
  tools: ['brush', 'sponge', 'mirror', 'tweezers', 'dryer', 'straightener', 'curler', 'travel'],
  men: ['beard', 'shaving', 'aftershave', 'deodorant', 'face-wash', 'grooming', 'sport', 'fresh'],
  suncare: ['spf30', 'spf50', 'after-sun', 'self-tan', 'water-resistant', 'mineral', 'kids-safe', 'face'],
  wellness: ['supplement', 'aromatherapy', 'sleep', 'collagen', 'tea', 'massage', 'candle', 'yoga'],
  kids: ['gentle', 'tear-free', 'baby', 'bath-toy', 'detangler', 'kids-sun', 'fun', 'organic'],
  gifts: ['set', 'advent', 'travel-kit', 'luxury', 'mini', 'holiday', 'personalized', 'bundle'],
};
export const COMMON_TAGS = ['vegan', 'cruelty-free', 'organic', 'bestseller', 'new', 'fragrance-free', 'refillable', 'sale'];
export const BRAND_WORDS = ['Luma', 'Vera', 'Nordic', 'Aurel', 'Mira', 'Solis', 'Kora', 'Fenn', 'Olea', 'Tessa', 'Brio', 'Zenna', 'Oro', 'Pura', 'Indi', 'Cala'];
export const PRICE_BASE: Record<string, number> = {
  skincare: 28, makeup: 22, haircare: 16, fragrance: 65, bath: 12, nails: 9, tools: 25, men: 18, suncare: 19, wellness: 24, kids: 11, gifts: 45,
};

export interface DemoData {
  items: ItemRow[];
  events: EventRow[];
}

export function generateDemo(opts: DemoOptions = {}): DemoData {
  const nItems = Math.max(1, opts.items ?? 3000);
  const nUsers = opts.users ?? Math.min(6000, Math.max(200, Math.round(nItems * 1.3)));
  const r = rng(opts.seed ?? 7);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

  const brandsOf = new Map<string, string[]>();
  DEMO_CATEGORIES.forEach((c, ci) => {
    const bs: string[] = [];
    for (let b = 0; b < 6; b++) bs.push(`${BRAND_WORDS[(ci * 5 + b * 3) % BRAND_WORDS.length]} ${['Labs', 'Beauty', 'Co', 'Studio', 'Naturals', 'Paris'][b]}`);
    brandsOf.set(c, bs);
  });
  const items: ItemRow[] = [];
  const byCat = new Map<string, number[]>();
  const appeal: number[] = [];
  for (let i = 0; i < nItems; i++) {
    const cat = DEMO_CATEGORIES[i % DEMO_CATEGORIES.length]!;
    const brand = pick(brandsOf.get(cat)!);
    const t1 = pick(TAGS[cat]!);
    const tags = [t1];
    const t2 = pick(TAGS[cat]!);
    if (t2 !== t1 && r() < 0.6) tags.push(t2);
    if (r() < 0.4) tags.push(pick(COMMON_TAGS));
    const price = Math.round(PRICE_BASE[cat]! * Math.exp(0.5 * gauss()) * 100) / 100;
    const id = `sku-${String(i + 1).padStart(5, '0')}`;
    items.push({ id, title: `${brand} ${t1.replace(/-/g, ' ')} ${i + 1}`, category: cat, brand, price, tags: [...new Set(tags)] });
    let l = byCat.get(cat);
    if (!l) byCat.set(cat, (l = []));
    l.push(i);
    appeal.push(1 / (1 + Math.floor(r() * 50)) ** 0.9); // long-tail appeal
  }
  // per category: cumulative appeal for weighted sampling
  const cum = new Map<string, { idx: number[]; cdf: number[] }>();
  for (const [c, idx] of byCat) {
    let s = 0;
    cum.set(c, { idx, cdf: idx.map((i) => (s += appeal[i]!)) });
  }
  const sampleIn = (c: string): number => {
    const { idx, cdf } = cum.get(c)!;
    const x = r() * cdf[cdf.length - 1]!;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (cdf[m]! < x) lo = m + 1;
      else hi = m;
    }
    return idx[lo]!;
  };
  // "complements": each item has a few related items in the same category (same brand preferred)
  const related = (i: number): number => {
    const it = items[i]!;
    for (let tries = 0; tries < 4; tries++) {
      const j = sampleIn(it.category!);
      if (j !== i && (items[j]!.brand === it.brand || tries === 3)) return j;
    }
    return sampleIn(it.category!);
  };

  const events: EventRow[] = [];
  const start = opts.start ?? Date.UTC(2026, 0, 1);
  const DAY = 86_400_000;
  const cats = [...byCat.keys()];
  for (let u = 0; u < nUsers; u++) {
    const user = `shopper-${String(u + 1).padStart(5, '0')}`;
    const favs = [pick(cats), pick(cats), pick(cats)];
    const sessions = 1 + Math.floor(-Math.log(1 - r()) * 2.5);
    let t = start + Math.floor(r() * 60 * DAY);
    for (let s = 0; s < sessions; s++) {
      const cat = r() < 0.8 ? favs[Math.floor(r() * (r() < 0.6 ? 1 : 3))]! : pick(cats);
      // shop-local hour: evenings are busier
      const hour = r() < 0.45 ? 18 + Math.floor(r() * 5) : 7 + Math.floor(r() * 11);
      t = Math.floor(t / DAY) * DAY + hour * 3_600_000 + Math.floor(r() * 3_600_000);
      let cur = sampleIn(cat);
      const len = 2 + Math.floor(r() * 7);
      for (let e = 0; e < len; e++) {
        const type: EventType = r() < 0.55 ? 'view' : r() < 0.6 ? 'click' : r() < 0.6 ? 'add_to_cart' : 'purchase';
        const ev: EventRow = { user, item: items[cur]!.id, ts: t, type };
        if (type === 'purchase') ev.value = items[cur]!.price;
        events.push(ev);
        t += 20_000 + Math.floor(r() * 120_000);
        cur = r() < 0.6 ? related(cur) : sampleIn(r() < 0.85 ? cat : pick(cats));
      }
      t += Math.floor((0.5 + r() * 6) * DAY);
    }
  }
  return { items, events };
}
