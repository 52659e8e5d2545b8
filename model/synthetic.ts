/**
 * Synthetic large store (`npm run data:synthetic`): a catalog of N items and a log of exactly M events,
 * generated and written as a stream (nothing event-sized is kept), deterministic given the seed.
 *
 * Structure a recommender can learn:
 *  - categories: N/1000 (12 … 5000), grouped under the demo's 12 departments (their tags, price levels);
 *    category popularity is Zipf-like (weight 1/(c+1)^0.8) and so is their size;
 *  - brands: N/100 (6 … 50,000); each category draws from its own pool of brands, items of a category
 *    are laid out by brand, so an item's "neighbours" in its category mostly share its brand;
 *  - item appeal: Pareto (α 1.1) inside a category → Zipf-like overall popularity;
 *  - shoppers: 1–3 favourite categories, sessions of 2–8 events mostly in one category; the next item is
 *    near the previous one in its category (±1…3 positions) 45 % of the time, a popularity draw in the
 *    session's category 35 %, another favourite category's item otherwise; ~1 % heavy shoppers with ~15×
 *    the sessions (histories of a few hundred items);
 *  - time: sessions over 30 days; each category has an hour-of-day profile (night around 23 h, morning
 *    around 8 h, evening around 20 h or daytime around 13 h: 70 % of its sessions near the peak) and
 *    purchases are twice as likely in sessions at the category's peak hours;
 *  - device (`mobile`/`desktop`/`other`): each category has its own mix (mobile 20–85 %); a session
 *    uses the category's mix 60 % of the time and the shopper's usual device otherwise.
 * Timestamps are epoch milliseconds (UTC); events are written shopper by shopper, each in time order.
 */
import { BRAND_WORDS, COMMON_TAGS, DEMO_CATEGORIES, PRICE_BASE, TAGS } from './demo-data';
import { DEVICES, type Device, type EventType, type ItemRow } from './io';
import { rng } from './train';

export interface SyntheticOptions {
  items: number;
  events: number;
  seed?: number;
  /** first day, epoch ms (default 2026-01-01 UTC) */
  start?: number;
  days?: number;
}

export interface SyntheticEvent {
  user: string;
  item: string;
  ts: number;
  type: EventType;
  device: Device;
}

export interface SyntheticSink {
  item(it: ItemRow): void;
  event(e: SyntheticEvent): void;
  progress?(phase: 'items' | 'events', done: number, total: number): void;
}

export const HOUR_PROFILES = [
  { name: 'night', peak: 23, sd: 1.8 },
  { name: 'morning', peak: 8, sd: 1.3 },
  { name: 'evening', peak: 20, sd: 1.8 },
  { name: 'daytime', peak: 13, sd: 2.5 },
] as const;

const BRAND_SUFFIX = ['Labs', 'Beauty', 'Co', 'Studio', 'Naturals', 'Paris'];

/** Index of the first cdf entry in [lo, hi) that is >= x (cdf non-decreasing). */
export function searchCdf(cdf: Float64Array, lo: number, hi: number, x: number): number {
  hi--;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (cdf[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

export interface SyntheticSummary {
  items: number;
  events: number;
  users: number;
  categories: number;
  brands: number;
}

export function generateSynthetic(opts: SyntheticOptions, sink: SyntheticSink): SyntheticSummary {
  const nItems = Math.max(1, Math.floor(opts.items));
  const nEvents = Math.max(0, Math.floor(opts.events));
  const r = rng(opts.seed ?? 7);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const nCats = Math.min(5000, Math.max(12, Math.round(nItems / 1000)));
  const nBrands = Math.min(50_000, Math.max(6, Math.round(nItems / 100)));
  const start = opts.start ?? Date.UTC(2026, 0, 1);
  const days = opts.days ?? 30;
  const DAY = 86_400_000;
  const HOUR = 3_600_000;

  // ---- categories
  const catName: string[] = [];
  const catDept: string[] = [];
  const catCdf = new Float64Array(nCats);
  const catProfile = new Uint8Array(nCats);
  const catMobile = new Float64Array(nCats);
  const catDesktop = new Float64Array(nCats);
  const catPriceMult = new Float64Array(nCats);
  const catBrand0 = new Int32Array(nCats);
  const catBrandN = new Int32Array(nCats);
  const pool = Math.max(3, Math.min(nBrands, Math.round((3 * nBrands) / nCats)));
  let cs = 0;
  for (let c = 0; c < nCats; c++) {
    const dept = DEMO_CATEGORIES[c % DEMO_CATEGORIES.length]!;
    catDept.push(dept);
    catName.push(nCats <= DEMO_CATEGORIES.length ? dept : `${dept}/${String(c + 1).padStart(String(nCats).length, '0')}`);
    cs += 1 / (c + 1) ** 0.8;
    catCdf[c] = cs;
    catProfile[c] = Math.floor(r() * HOUR_PROFILES.length);
    catMobile[c] = 0.2 + 0.65 * r();
    catDesktop[c] = (1 - catMobile[c]!) * (0.6 + 0.35 * r());
    catPriceMult[c] = Math.exp(0.4 * gauss());
    catBrand0[c] = Math.floor(r() * nBrands);
    catBrandN[c] = pool;
  }
  const brandName = (b: number) => `${BRAND_WORDS[b % BRAND_WORDS.length]} ${BRAND_SUFFIX[Math.floor(b / BRAND_WORDS.length) % BRAND_SUFFIX.length]}${b >= BRAND_WORDS.length * BRAND_SUFFIX.length ? ` ${b + 1}` : ''}`;
  const sampleCat = () => searchCdf(catCdf, 0, nCats, r() * catCdf[nCats - 1]!);

  // ---- items (written as generated)
  const itemCat = new Int32Array(nItems);
  const itemBrand = new Int32Array(nItems);
  const appeal = new Float64Array(nItems);
  const idWidth = String(nItems).length;
  const itemId = (i: number) => `sku-${String(i + 1).padStart(idWidth, '0')}`;
  for (let i = 0; i < nItems; i++) {
    const c = sampleCat();
    const dept = catDept[c]!;
    // brands of the category: Zipf-like inside its pool
    const bi = Math.min(catBrandN[c]! - 1, Math.floor(catBrandN[c]! * r() ** 2));
    const b = (catBrand0[c]! + bi) % nBrands;
    itemCat[i] = c;
    itemBrand[i] = b;
    appeal[i] = Math.min(1e4, (1 - r()) ** (-1 / 1.1));
    const tl = TAGS[dept]!;
    const t1 = tl[Math.floor(r() * tl.length)]!;
    const tags = [t1];
    const t2 = tl[Math.floor(r() * tl.length)]!;
    if (t2 !== t1 && r() < 0.6) tags.push(t2);
    if (r() < 0.4) {
      const ct = COMMON_TAGS[Math.floor(r() * COMMON_TAGS.length)]!;
      if (!tags.includes(ct)) tags.push(ct);
    }
    const price = Math.round(PRICE_BASE[dept]! * catPriceMult[c]! * Math.exp(0.5 * gauss()) * 100) / 100;
    const brand = brandName(b);
    sink.item({ id: itemId(i), title: `${brand} ${t1.replace(/-/g, ' ')} ${i + 1}`, category: catName[c]!, brand, price, tags });
    if ((i & 16383) === 16383) sink.progress?.('items', i + 1, nItems);
  }
  sink.progress?.('items', nItems, nItems);

  // ---- items of each category, laid out by brand; appeal cdf per category
  const catStart = new Int32Array(nCats + 1);
  for (let i = 0; i < nItems; i++) catStart[itemCat[i]! + 1]!++;
  for (let c = 0; c < nCats; c++) catStart[c + 1]! += catStart[c]!;
  const catItems = new Int32Array(nItems);
  {
    const fill = catStart.slice(0, nCats);
    for (let i = 0; i < nItems; i++) catItems[fill[itemCat[i]!]!++] = i;
  }
  for (let c = 0; c < nCats; c++) {
    const seg = catItems.subarray(catStart[c]!, catStart[c + 1]!);
    const sorted = Int32Array.from(seg).sort((a, b) => itemBrand[a]! - itemBrand[b]! || a - b);
    seg.set(sorted);
  }
  const posInCat = new Int32Array(nItems);
  const cdf = new Float64Array(nItems);
  for (let c = 0; c < nCats; c++) {
    let s = 0;
    for (let p = catStart[c]!; p < catStart[c + 1]!; p++) {
      posInCat[catItems[p]!] = p;
      s += appeal[catItems[p]!]!;
      cdf[p] = s;
    }
  }
  const usable = (c: number) => catStart[c + 1]! > catStart[c]!;
  const sampleIn = (c: number): number => {
    // the cdf restarts at 0 in each category
    const lo = catStart[c]!;
    const hi = catStart[c + 1]!;
    return catItems[searchCdf(cdf, lo, hi, r() * cdf[hi - 1]!)]!;
  };
  const sampleUsableCat = (): number => {
    for (let tries = 0; tries < 20; tries++) {
      const c = sampleCat();
      if (usable(c)) return c;
    }
    return itemCat[Math.floor(r() * nItems)]!;
  };
  const deviceOf = (c: number): number => {
    const x = r();
    return x < catMobile[c]! ? 0 : x < catMobile[c]! + catDesktop[c]! ? 1 : 2;
  };

  // ---- shoppers
  let emitted = 0;
  let users = 0;
  const dayOffsets: number[] = [];
  while (emitted < nEvents) {
    const user = `u-${String(++users).padStart(7, '0')}`;
    const favs = [sampleUsableCat()];
    const nf = r() < 0.5 ? 1 : r() < 0.6 ? 2 : 3;
    while (favs.length < nf) favs.push(sampleUsableCat());
    const usualDevice = deviceOf(favs[0]!);
    const heavy = r() < 0.01;
    const sessions = Math.max(1, Math.round((1 + Math.floor(-Math.log(1 - r()) * 1.5)) * (heavy ? 15 : 1)));
    dayOffsets.length = sessions;
    for (let s = 0; s < sessions; s++) dayOffsets[s] = Math.floor(r() * days);
    dayOffsets.sort((a, b) => a - b);
    let last = 0;
    for (let s = 0; s < sessions && emitted < nEvents; s++) {
      const x = r();
      const cat = x < 0.8 ? favs[x < 0.5 ? 0 : Math.floor(r() * favs.length)]! : sampleUsableCat();
      const prof = HOUR_PROFILES[catProfile[cat]!]!;
      const atPeak = r() < 0.7;
      const hour = atPeak ? (((Math.round(prof.peak + prof.sd * gauss()) % 24) + 24) % 24) : Math.floor(r() * 24);
      const peakHour = Math.min(Math.abs(hour - prof.peak), 24 - Math.abs(hour - prof.peak)) <= 2;
      const device = DEVICES[r() < 0.6 ? deviceOf(cat) : usualDevice]!;
      let t = Math.max(last + 60_000, start + dayOffsets[s]! * DAY + hour * HOUR + Math.floor(r() * HOUR));
      let cur = sampleIn(cat);
      let curCat = cat;
      const len = 2 + Math.floor(r() * 7);
      for (let e = 0; e < len && emitted < nEvents; e++) {
        const y = r();
        const pBuy = peakHour ? 0.16 : 0.08;
        const type: EventType = y < pBuy ? 'purchase' : y < pBuy + 0.1 ? 'add_to_cart' : y < pBuy + 0.37 ? 'click' : 'view';
        sink.event({ user, item: itemId(cur), ts: t, type, device });
        emitted++;
        if ((emitted & 65535) === 0) sink.progress?.('events', emitted, nEvents);
        t += 20_000 + Math.floor(r() * 120_000);
        const z = r();
        if (z < 0.45) {
          // near the previous item in its category (same brand, mostly)
          const lo = catStart[curCat]!;
          const hi = catStart[curCat + 1]!;
          const step = 1 + Math.floor(-Math.log(1 - r()) * 1.2);
          const p = Math.min(hi - 1, Math.max(lo, posInCat[cur]! + (r() < 0.65 ? step : -step)));
          cur = catItems[p]!;
        } else if (z < 0.8) {
          curCat = cat;
          cur = sampleIn(cat);
        } else {
          curCat = favs[Math.floor(r() * favs.length)]!;
          cur = sampleIn(curCat);
        }
      }
      last = t;
    }
  }
  sink.progress?.('events', emitted, nEvents);
  return { items: nItems, events: emitted, users, categories: nCats, brands: nBrands };
}
