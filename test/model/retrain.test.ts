/** npm run model:retrain's decision: the time-based holdout split, scoring on the most recent day, and "not worse". */
import { describe, expect, it } from 'vitest';
import { buildDataset } from '../../model/dataset';
import { generateDemo } from '../../model/demo-data';
import { compareModels, DAY_MS, evaluateOnHoldout, holdoutUsers, lastDaySplit, MIN_HOLDOUT_USERS } from '../../model/holdout';
import type { EventRow } from '../../model/io';
import { trainModel } from '../../model/pipeline';

const m = (ndcg: number, users = 100) => ({ users, hr: ndcg * 2, ndcg, mrr: ndcg });

describe('holdout split', () => {
  it('holds out the 24 hours up to the newest event and trains on everything before them', () => {
    const end = Date.UTC(2026, 10, 20, 10);
    const ev = (user: string, ts: number): EventRow => ({ user, item: `i${ts}`, ts, type: 'view' });
    const events = [ev('a', end - 3 * DAY_MS), ev('a', end - DAY_MS), ev('b', end - DAY_MS + 1), ev('a', end)];
    const s = lastDaySplit(events)!;
    expect(s).toMatchObject({ cutoff: end - DAY_MS + 1, day: '2026-11-19T10:00Z/2026-11-20T10:00Z', holdoutEvents: 2 });
    expect(s.train.map((e) => e.ts)).toEqual([end - 3 * DAY_MS, end - DAY_MS]);
    expect(lastDaySplit([ev('a', end - 1000), ev('b', end)])).toBeNull();
    expect(lastDaySplit([])).toBeNull();
  });
});

describe('the decision', () => {
  it('publishes a candidate that is not worse, and says why not otherwise', () => {
    expect(compareModels(m(0.2), m(0.2))).toMatchObject({ publish: true });
    expect(compareModels(m(0.25), m(0.2)).reason).toContain('+0.0500');
    const worse = compareModels(m(0.19), m(0.2));
    expect(worse.publish).toBe(false);
    expect(worse.reason).toContain('worse than the active model');
    expect(compareModels(m(0.19), m(0.2), 0.02).publish).toBe(true);
    expect(compareModels(m(0.3, MIN_HOLDOUT_USERS - 1), m(0.2))).toMatchObject({ publish: false, reason: expect.stringContaining('holdout users') });
    expect(compareModels(m(0.3), null)).toMatchObject({ publish: false, reason: expect.stringContaining('no active model') });
  });

  it('scores both models on the last day as served: a model trained on a tenth of the history loses to one trained on all of it', async () => {
    const d = generateDemo({ items: 300, users: 400, seed: 5 });
    // The demo spreads 60 days thinly; squeeze it, in order, into 5 days so the last one is a busy day.
    const sorted = [...d.events].sort((x, y) => x.ts - y.ts);
    d.events = sorted.map((e, i) => ({ ...e, ts: Date.UTC(2026, 10, 16) + Math.floor((i / sorted.length) * 5 * DAY_MS) }));
    const split = lastDaySplit(d.events)!;
    expect(split.holdoutEvents).toBeGreaterThan(0);
    const all = buildDataset(d.events, d.items);
    expect(holdoutUsers(all, split.cutoff).length).toBeGreaterThanOrEqual(MIN_HOLDOUT_USERS);
    const full = trainModel(buildDataset(split.train, d.items), { seed: 1, tune: false });
    const tenth = trainModel(buildDataset(split.train.filter((_, i) => i % 10 === 0), d.items), { seed: 1, tune: false });
    const a = await evaluateOnHoldout(all, split.cutoff, full.exported);
    const b = await evaluateOnHoldout(all, split.cutoff, tenth.exported);
    expect(a.users).toBe(b.users);
    expect(a.ndcg).toBeGreaterThan(b.ndcg);
    expect(compareModels(a, b).publish).toBe(true);
    expect(compareModels(b, a).publish).toBe(false);
    // The training-time statistics drift detection compares with.
    expect(a.score_mean).toEqual(expect.any(Number));
    expect(Object.values(a.category_shares).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 2);
  });
});
