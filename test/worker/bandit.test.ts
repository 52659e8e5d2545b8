/**
 * Bandits end to end: Thompson sampling shifts traffic to the arm that gets clicked, updates
 * arrive through attributed events and land in sharded Durable Objects (real ones), contexts
 * keep separate posteriors, and the minimum exploration share holds.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminJson, event, inBatches, postEvents, recommendations, seedCatalog, waitForLog } from './helpers';
import './bandit-thompson.cases';

beforeAll(() => seedCatalog());

async function start(body: Record<string, unknown>) {
  const c = await adminJson('/v1/admin/experiments', 'POST', { kind: 'bandit', ...body });
  expect(c.status, await c.clone().text()).toBe(200);
  expect((await adminJson(`/v1/admin/experiments/${body.id}/start`, 'POST')).status).toBe(200);
}

async function report(id: string) {
  return (await (await adminJson(`/v1/admin/experiments/${id}/report`, 'GET')).json()) as any;
}

/** Serve `n` requests; the shopper sees the recommendation and clicks when `clicks(arm, i)` says so. */
async function play(slot: string, n: number, clicks: (arm: string, i: number) => boolean, query: (i: number) => Record<string, string | number> = () => ({})) {
  const arms: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const session = `${slot}-s${i}-${Math.random().toString(36).slice(2, 8)}`;
    const r = (await recommendations({ slot, session_id: session, k: 2, ...query(i) })).body;
    arms.push(r.variant);
    const evs = [event('impression', r.items[0].item_id, session, { recommendation_id: r.recommendation_id, slot })];
    if (clicks(r.variant, i)) evs.push(event('click', r.items[0].item_id, session, { recommendation_id: r.recommendation_id, slot }));
    expect((await postEvents(evs, { settle: false })).body.accepted).toBe(evs.length);
    ids.push(...evs.map((e) => e.event_id));
  }
  // The consumer learns from all of them before the caller reads the report.
  await waitForLog(ids);
  return arms;
}

describe('Thompson sampling bandit', () => {
  it('moves traffic to the arm that gets clicked, with state summed over shards', async () => {
    await start({
      id: 'banner',
      slot: 'banner-slot',
      variants: [
        { name: 'A', strategy: 'popular', payload: { banner: 'sale' } },
        { name: 'B', strategy: 'popular', payload: { banner: 'shipping' } },
      ],
      bandit: { min_exploration: 0.1, shards: 4 },
    });
    // Every shopper clicks B, nobody clicks A.
    const early = await play('banner-slot', 40, (arm) => arm === 'B');
    const r = await report('banner');
    const post = r.bandit.contexts[''];
    const countOf = (arms: string[], a: string) => arms.filter((x) => x === a).length;
    expect(post.A.trials).toBe(countOf(early, 'A'));
    expect(post.B.trials).toBe(countOf(early, 'B'));
    expect(post.B.successes).toBe(countOf(early, 'B'));
    expect(post.A.successes).toBe(0);
    expect(post.B.allocation).toBeGreaterThan(0.9);

    // The report refreshed this isolate's snapshot: new traffic now goes mostly to B
    // (expected ≈ 95%: exploration 10% split over two arms).
    const later = await inBatches(60, 10, async (i) => (await recommendations({ slot: 'banner-slot', session_id: `later-${i}`, k: 1 })).body.variant as string);
    expect(countOf(later, 'B')).toBeGreaterThan(45);
    const one = (await recommendations({ slot: 'banner-slot', session_id: 'payload', k: 1 })).body;
    expect(one.experiment).toBe('banner');
    expect(one.variant_payload).toEqual(one.variant === 'A' ? { banner: 'sale' } : { banner: 'shipping' });

    // Updates were spread over the shard objects, and their sum is what the report shows.
    const shards = await Promise.all([0, 1, 2, 3].map((i) => env.BANDITS.get(env.BANDITS.idFromName(`banner#${i}`)).snapshot()));
    expect(shards.filter((s) => s.batches > 0).length).toBeGreaterThan(1);
    const trials = shards.reduce((s, x) => s + (x.counts['']?.B?.trials ?? 0) + (x.counts['']?.A?.trials ?? 0), 0);
    expect(trials).toBe(40);
  }, 120_000);

  it('a retried shard update (same batch id) is applied once', async () => {
    const stub = env.BANDITS.get(env.BANDITS.idFromName('retry-test#0'));
    expect(await stub.update('batch-1', [{ context: '', arm: 'A', trials: 3, successes: 1 }])).toBe(true);
    expect(await stub.update('batch-1', [{ context: '', arm: 'A', trials: 3, successes: 1 }])).toBe(false);
    expect((await stub.snapshot()).counts['']).toEqual({ A: { trials: 3, successes: 1 } });
  });

  it('keeps separate posteriors per device context', async () => {
    await start({
      id: 'ctx',
      slot: 'ctx-slot',
      variants: [
        { name: 'A', strategy: 'popular' },
        { name: 'B', strategy: 'popular' },
      ],
      bandit: { min_exploration: 0.1, context: 'device', shards: 2 },
    });
    // mobile shoppers click only A, desktop shoppers only B
    await play('ctx-slot', 50, (arm, i) => (i % 2 === 0 ? arm === 'A' : arm === 'B'), (i) => ({ device: i % 2 === 0 ? 'mobile' : 'desktop' }));
    const r = await report('ctx');
    expect(r.bandit.contexts.mobile.A.allocation).toBeGreaterThan(0.8);
    expect(r.bandit.contexts.desktop.B.allocation).toBeGreaterThan(0.8);
    const mobile = await inBatches(30, 10, async (i) => (await recommendations({ slot: 'ctx-slot', session_id: `m-${i}`, device: 'mobile', k: 1 })).body.variant as string);
    const desktop = await inBatches(30, 10, async (i) => (await recommendations({ slot: 'ctx-slot', session_id: `d-${i}`, device: 'desktop', k: 1 })).body.variant as string);
    expect(mobile.filter((a) => a === 'A').length).toBeGreaterThan(20);
    expect(desktop.filter((a) => a === 'B').length).toBeGreaterThan(20);
  }, 120_000);

  it('keeps the minimum exploration share for a losing arm', async () => {
    await start({
      id: 'explore',
      slot: 'explore-slot',
      variants: [
        { name: 'A', strategy: 'popular' },
        { name: 'B', strategy: 'popular' },
      ],
      bandit: { min_exploration: 0.5, shards: 1 },
    });
    // make B look overwhelmingly better, straight in its shard
    await env.BANDITS.get(env.BANDITS.idFromName('explore#0')).update('seed', [
      { context: '', arm: 'A', trials: 5000, successes: 0 },
      { context: '', arm: 'B', trials: 5000, successes: 2500 },
    ]);
    const r = await report('explore');
    expect(r.bandit.contexts[''].A.allocation).toBeGreaterThan(0.2); // ≈ 0.25 = 0.5 / 2 arms
    const arms = await inBatches(100, 10, async (i) => (await recommendations({ slot: 'explore-slot', session_id: `e-${i}`, k: 1 })).body.variant as string);
    // A gets 25% in expectation (sd ≈ 4.3 of 100)
    expect(arms.filter((a) => a === 'A').length).toBeGreaterThan(8);
    expect(arms.filter((a) => a === 'A').length).toBeLessThan(45);
  }, 120_000);
});
