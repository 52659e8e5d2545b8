/**
 * Experiments end to end through the public HTTP surface: admin lifecycle, sticky weighted
 * assignment, what variants change, targeting by segment, the global holdout, and exactly-once
 * attribution of impressions, clicks and purchases into the report.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { originPage, page, slot, storePage } from './rewrite-helpers';
import { adminJson, event, fetchWorker, fixtureCatalog, inBatches, postEvents, recommendations, seedCatalog, token, waitForLog } from './helpers';

beforeAll(() => seedCatalog());

async function createAndStart(body: Record<string, unknown>) {
  const created = await adminJson('/v1/admin/experiments', 'POST', body);
  expect(created.status, await created.clone().text()).toBe(200);
  const started = await adminJson(`/v1/admin/experiments/${body.id}/start`, 'POST');
  expect(started.status, await started.clone().text()).toBe(200);
  return (await started.json()) as any;
}

async function report(id: string) {
  const res = await adminJson(`/v1/admin/experiments/${id}/report`, 'GET');
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

const variant = (r: any, name: string) => r.variants.find((v: any) => v.name === name);

describe('admin lifecycle', () => {
  it('needs the admin token', async () => {
    const res = await fetchWorker('/v1/admin/experiments');
    expect(res.status).toBe(401);
  });

  it('rejects invalid definitions with the fields at fault', async () => {
    const res = await adminJson('/v1/admin/experiments', 'POST', {
      id: 'bad',
      slot: 'x',
      variants: [{ name: 'A' }, { name: 'A', strategy: 'editorial' }],
    });
    expect(res.status).toBe(400);
    const fields = ((await res.json()) as any).error.issues.map((i: any) => i.field);
    expect(fields).toContain('variants.1.items');
    expect(fields).toContain('variants.1.name');
  });

  it('draft -> running -> paused -> running -> stopped, one running experiment per slot', async () => {
    const body = { id: 'life', slot: 'life-slot', variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'control' }] };
    expect((await adminJson('/v1/admin/experiments', 'POST', body)).status).toBe(200);
    expect((await adminJson('/v1/admin/experiments', 'POST', body)).status).toBe(409);
    expect(((await (await adminJson('/v1/admin/experiments/life/start', 'POST')).json()) as any).status).toBe('running');
    // a running experiment's variants are frozen
    expect((await adminJson('/v1/admin/experiments/life', 'PUT', body)).status).toBe(409);
    // a second experiment cannot run in the same slot
    await adminJson('/v1/admin/experiments', 'POST', { ...body, id: 'life-2' });
    expect((await adminJson('/v1/admin/experiments/life-2/start', 'POST')).status).toBe(409);

    const served = await recommendations({ slot: 'life-slot', session_id: 'life-s', k: 3 });
    expect(served.body.experiment).toBe('life');

    expect(((await (await adminJson('/v1/admin/experiments/life/pause', 'POST')).json()) as any).status).toBe('paused');
    const paused = await recommendations({ slot: 'life-slot', session_id: 'life-s', k: 3 });
    expect(paused.body.experiment).toBeNull();
    expect(paused.body.variant).toBeNull();

    expect((await adminJson('/v1/admin/experiments/life/start', 'POST')).status).toBe(200);
    expect(((await (await adminJson('/v1/admin/experiments/life/stop', 'POST')).json()) as any).status).toBe('stopped');
    expect((await adminJson('/v1/admin/experiments/life/start', 'POST')).status).toBe(409);
    const list = (await (await adminJson('/v1/admin/experiments', 'GET')).json()) as any;
    expect(list.experiments.map((e: any) => e.id)).toEqual(expect.arrayContaining(['life', 'life-2']));
    expect(JSON.stringify(list)).not.toContain('"salt"');
  });
});

describe('assignment', () => {
  beforeAll(() =>
    createAndStart({
      id: 'assign',
      slot: 'assign-slot',
      variants: [
        { name: 'control', strategy: 'control', weight: 1 },
        { name: 'editorial', strategy: 'editorial', items: ['makeup-7', 'haircare-3', 'skincare-9'], weight: 1 },
        { name: 'short', strategy: 'popular', k: 2, diversity: 1, weight: 2 },
      ],
    }),
  );

  it('is sticky per shopper and follows the weights', async () => {
    const counts: Record<string, number> = { control: 0, editorial: 0, short: 0 };
    for (const r of await inBatches(200, 10, (i) => recommendations({ slot: 'assign-slot', session_id: `shopper-${i}`, k: 4 }))) {
      expect(r.body.experiment).toBe('assign');
      counts[r.body.variant] = (counts[r.body.variant] ?? 0) + 1;
    }
    // 1:1:2 of 200 -> 50 / 50 / 100 expected (binomial sd ≈ 6.1 / 6.1 / 7.1); bounds are > 4 sd away
    expect(counts.control).toBeGreaterThan(25);
    expect(counts.control).toBeLessThan(75);
    expect(counts.editorial).toBeGreaterThan(25);
    expect(counts.short).toBeGreaterThan(70);
    expect(counts.short).toBeLessThan(130);
    for (let i = 0; i < 10; i++) {
      const a = await recommendations({ slot: 'assign-slot', session_id: `shopper-${i}`, k: 4 });
      const b = await recommendations({ slot: 'assign-slot', session_id: `shopper-${i}`, k: 4 });
      expect(b.body.variant).toBe(a.body.variant);
    }
    // a signed-in shopper is assigned by user, so the variant follows them across sessions
    const user_token = await token('u-42');
    const first = await recommendations({ slot: 'assign-slot', session_id: 'phone', user_token, k: 4 });
    const second = await recommendations({ slot: 'assign-slot', session_id: 'laptop', user_token, k: 4 });
    expect(second.body.variant).toBe(first.body.variant);
  }, 120_000);

  it('each variant changes what is served', async () => {
    const seen = new Map<string, any>();
    for (let i = 0; seen.size < 3 && i < 200; i++) {
      const r = await recommendations({ slot: 'assign-slot', session_id: `v-${i}`, k: 4 });
      if (!seen.has(r.body.variant)) seen.set(r.body.variant, r.body);
    }
    const editorial = seen.get('editorial');
    expect(editorial.strategy).toBe('editorial');
    expect(editorial.items.map((i: any) => i.item_id)).toEqual(['makeup-7', 'haircare-3', 'skincare-9']);
    const control = seen.get('control');
    expect(control.strategy).toBe('control');
    const popular = fixtureCatalog()
      .sort((a, b) => b.popularity - a.popularity)
      .slice(0, 4)
      .map((i) => i.item_id);
    expect(control.items.map((i: any) => i.item_id)).toEqual(popular);
    const short = seen.get('short');
    expect(short.items).toHaveLength(2); // k from the variant
    expect(new Set(short.items.map((i: any) => i.category)).size).toBe(2); // diversity: 1 per category
    expect(Array.isArray(short.segments)).toBe(true);
  });

  it('requests without any shopper id are not enrolled in an A/B test', async () => {
    const r = await recommendations({ slot: 'assign-slot', k: 3 });
    expect(r.body.experiment).toBeNull();
  });
});

describe('segments', () => {
  it('are exposed with scores and target experiments', async () => {
    await createAndStart({ id: 'owls', slot: 'owl-slot', targeting: { segments: ['night_owl'] }, variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'control' }] });
    const day = await recommendations({ slot: 'owl-slot', session_id: 'owl-1', hour: 14, k: 2 });
    expect(day.body.segments.map((s: any) => s.name)).not.toContain('night_owl');
    expect(day.body.experiment).toBeNull();
    const night = await recommendations({ slot: 'owl-slot', session_id: 'owl-1', hour: 23, k: 2 });
    expect(night.body.segments).toContainEqual({ name: 'night_owl', score: 1 });
    expect(night.body.experiment).toBe('owls');
    // a shopper seen for the first time is a new visitor
    expect(night.body.segments.map((s: any) => s.name)).toContain('new_visitor');
  });

  it('rules are editable through the admin API', async () => {
    await postEvents(['skincare-1', 'skincare-2', 'skincare-3'].map((id) => event('view', id, 'skin-fan')));
    const put = await adminJson('/v1/admin/segments/skincare_fan', 'PUT', {
      description: 'many views this session',
      score: [{ feature: 'session_events', from: 0, to: 3 }],
      threshold: 0.9,
    });
    expect(put.status).toBe(200);
    const r = await recommendations({ slot: 'any', session_id: 'skin-fan', k: 2 });
    expect(r.body.segments).toContainEqual({ name: 'skincare_fan', score: 1 });
    const bad = await adminJson('/v1/admin/segments/broken', 'PUT', { score: [{ feature: 'shoe_size', from: 0, to: 1 }] });
    expect(bad.status).toBe(400);
    // disabling a built-in removes it from responses
    expect((await adminJson('/v1/admin/segments/new_visitor', 'DELETE')).status).toBe(200);
    const after = await recommendations({ slot: 'any', session_id: 'brand-new', k: 2 });
    expect(after.body.segments.map((s: any) => s.name)).not.toContain('new_visitor');
    const list = (await (await adminJson('/v1/admin/segments', 'GET')).json()) as any;
    expect(list.segments.new_visitor.enabled).toBe(false);
    expect(list.segments.skincare_fan.threshold).toBe(0.9);
  });
});

describe('global holdout', () => {
  it('keeps a sticky share of shoppers out of every experiment, unpersonalized', async () => {
    await createAndStart({ id: 'ho', slot: 'ho-slot', variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'popular' }] });
    expect((await adminJson('/v1/admin/holdout', 'PUT', { share: 0.3 })).status).toBe(200);
    let held = 0;
    const answers = await inBatches(120, 10, async (i) => {
      const r = await recommendations({ slot: 'ho-slot', session_id: `ho-${i}`, k: 2 });
      const again = r.body.experiment === 'global-holdout' ? await recommendations({ slot: 'ho-slot', session_id: `ho-${i}`, k: 2 }) : null;
      return { r, again };
    });
    for (const { r, again } of answers) {
      if (r.body.experiment === 'global-holdout') {
        held += 1;
        expect(r.body.variant).toBe('holdout');
        expect(r.body.strategy).toBe('control');
        expect(again!.body.experiment).toBe('global-holdout');
      } else expect(r.body.experiment).toBe('ho');
    }
    // 30% of 120 = 36 expected (sd ≈ 5)
    expect(held).toBeGreaterThan(15);
    expect(held).toBeLessThan(57);
    await adminJson('/v1/admin/holdout', 'PUT', { share: 0 });
  }, 120_000);
});

describe('attribution', () => {
  it('counts impressions, clicks and purchases once per recommendation, inside the window', async () => {
    await createAndStart({ id: 'attr', slot: 'attr-slot', attribution_window_hours: 1, variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'control' }] });
    const recs: any[] = [];
    for (let i = 0; i < 6; i++) recs.push((await recommendations({ slot: 'attr-slot', session_id: `attr-${i}`, k: 3 })).body);
    const rec0 = recs[0];
    const item = rec0.items[0].item_id;
    const s0 = 'attr-0';
    // every shown item sends an impression: three events, one impression of the recommendation
    const imps = rec0.items.map((it: any) => event('impression', it.item_id, s0, { recommendation_id: rec0.recommendation_id, slot: 'attr-slot' }));
    const click = event('click', item, s0, { recommendation_id: rec0.recommendation_id, slot: 'attr-slot' });
    const click2 = event('click', rec0.items[1].item_id, s0, { recommendation_id: rec0.recommendation_id, slot: 'attr-slot' });
    // the purchase carries no recommendation id: attributed by the click on the same item
    const buy = event('purchase', item, s0, { value: 25, timestamp: Date.now() + 1000 });
    expect((await postEvents([...imps, click])).body.accepted).toBe(4);
    expect((await postEvents([click2, buy])).body.accepted).toBe(2);
    // a retried purchase (same event id) is a duplicate; revenue must not double
    expect((await postEvents([buy])).body.duplicates).toBe(1);
    // a purchase of another item the shopper never clicked is not attributed
    await postEvents([event('purchase', 'fragrance-29', s0, { value: 99 })]);

    // rec 1: a click without an impression event still counts as an impression
    const rec1 = recs[1];
    await postEvents([event('click', rec1.items[0].item_id, 'attr-1', { recommendation_id: rec1.recommendation_id })]);
    // rec 2: an impression after the 1 h window is not attributed
    const rec2 = recs[2];
    await postEvents([event('impression', rec2.items[0].item_id, 'attr-2', { recommendation_id: rec2.recommendation_id, timestamp: Date.now() + 2 * 3600_000 })]);
    // rec 3: an impression only
    const rec3 = recs[3];
    await postEvents([event('impression', rec3.items[0].item_id, 'attr-3', { recommendation_id: rec3.recommendation_id })]);

    const r = await report('attr');
    const byRec = new Map(recs.map((x) => [x.recommendation_id, x.variant]));
    const expected: Record<string, { impressions: number; clicks: number; revenue: number; converters: number }> = {
      A: { impressions: 0, clicks: 0, revenue: 0, converters: 0 },
      B: { impressions: 0, clicks: 0, revenue: 0, converters: 0 },
    };
    for (const [rec, imp, clk, rev] of [
      [rec0.recommendation_id, 1, 1, 25],
      [rec1.recommendation_id, 1, 1, 0],
      [rec3.recommendation_id, 1, 0, 0],
    ] as const) {
      const v = expected[byRec.get(rec)]!;
      v.impressions += imp;
      v.clicks += clk;
      v.revenue += rev;
      v.converters += rev > 0 ? 1 : 0;
    }
    for (const name of ['A', 'B']) {
      const v = variant(r, name);
      expect(v.impressions).toBe(expected[name]!.impressions);
      expect(v.clicks).toBe(expected[name]!.clicks);
      expect(v.revenue).toBe(expected[name]!.revenue);
      expect(v.converters).toBe(expected[name]!.converters);
    }
    expect(r.variants.reduce((s: number, v: any) => s + v.served, 0)).toBe(6);
    expect(r.variants.reduce((s: number, v: any) => s + v.visitors, 0)).toBe(6);
    const rows = await env.DB.prepare('SELECT value FROM rec_purchases WHERE recommendation_id = ?').bind(rec0.recommendation_id).all();
    expect(rows.results).toEqual([{ value: 25 }]);
  });

  it('report carries intervals, tests, SRM and power', async () => {
    const r = await report('assign');
    expect(r.srm).toMatchObject({ df: 2, mismatch: false });
    const short = variant(r, 'short');
    expect(short.visitors).toBeGreaterThan(0);
    expect(short.ctr).toEqual({ estimate: 0, low: 0, high: 0 });
    expect(short.z_test).toEqual({ z: 0, p: 1 });
    expect(variant(r, 'control').control).toBe(true);
    expect(variant(r, 'control').uplift).toBeNull();
    expect(r.series.points.length).toBeGreaterThan(0);
  });

  it('a variant template renders the HTML block', async () => {
    await createAndStart({
      id: 'tpl',
      slot: 'tpl-slot',
      variants: [
        { name: 'plain', strategy: 'popular', template: '<ul class="plain">{{#items}}<li>{{title}}</li>{{/items}}</ul>' },
        { name: 'fancy', strategy: 'popular', template: '<ol class="fancy">{{#items}}<li>{{title}}</li>{{/items}}</ol>' },
      ],
    });
    const classes = new Set<string>();
    for (let i = 0; i < 30 && classes.size < 2; i++) {
      const html = await (await fetchWorker(`/v1/blocks/tpl-slot?session_id=tpl-${i}&k=2`)).text();
      classes.add(/class="(plain|fancy)"/.exec(html)?.[1] ?? 'none');
    }
    expect([...classes].sort()).toEqual(['fancy', 'plain']);
    // The HTML proxy renders the slot with the variant's template too.
    await originPage('/tpl-page', storePage(slot('tpl-slot', { k: 2 })));
    const proxied = new Set<string>();
    for (let i = 0; i < 30 && proxied.size < 2; i++) {
      const { html } = await page('/tpl-page', { cookies: { p13n_consent: 'granted', p13n_sid: `tpl-proxy-session-${i}` } });
      proxied.add(/class="(plain|fancy)"/.exec(html)?.[1] ?? 'none');
    }
    expect([...proxied].sort()).toEqual(['fancy', 'plain']);
  });
});

describe('report time series', () => {
  it('groups served recommendations by time bucket: shares add up to 1, CTR is cumulative', async () => {
    await createAndStart({ id: 'series', slot: 'series-slot', variants: [{ name: 'A', strategy: 'popular' }, { name: 'B', strategy: 'popular' }] });
    let clicksB = 0;
    let impB = 0;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = (await recommendations({ slot: 'series-slot', session_id: `series-${i}`, k: 1 })).body;
      const evs = [event('impression', r.items[0].item_id, `series-${i}`, { recommendation_id: r.recommendation_id })];
      if (r.variant === 'B') impB++;
      if (r.variant === 'B' && i % 2 === 0) {
        clicksB++;
        evs.push(event('click', r.items[0].item_id, `series-${i}`, { recommendation_id: r.recommendation_id }));
      }
      await postEvents(evs, { settle: false });
      ids.push(...evs.map((e) => e.event_id));
    }
    await waitForLog(ids);
    // one day per bucket: everything falls into one bucket (or two around midnight UTC)
    const r = (await (await adminJson('/v1/admin/experiments/series/report?bucket_ms=86400000', 'GET')).json()) as any;
    const times = [...new Set(r.series.points.map((p: any) => p.t))];
    expect(times.length).toBeLessThanOrEqual(2);
    for (const t of times) {
      const at = r.series.points.filter((p: any) => p.t === t);
      expect(at.reduce((s: number, p: any) => s + p.share, 0)).toBeCloseTo(1, 10);
    }
    expect(r.series.points.reduce((s: number, p: any) => s + p.served, 0)).toBe(12);
    const lastB = r.series.points.filter((p: any) => p.variant === 'B').at(-1);
    expect(lastB.ctr).toBeCloseTo(impB ? clicksB / impB : 0, 10);
  });
});
