/** Drift detection: Page-Hinkley on live streams, run by the 5-minute cron job and shown in health. */
import { describe, expect, it } from 'vitest';
import { newPH, phUpdate, totalVariation } from '../../worker/ops/drift';
import { seedCatalog } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';
import { admin, recs, runCron } from './ops-helpers';

describe('Page-Hinkley', () => {
  it('stays quiet on a stable stream and fires after a shift of the mean, in the right direction', () => {
    let s = newPH();
    let fired: string | null = null;
    for (let i = 0; i < 200; i++) {
      const r = phUpdate(s, 0.5 + ((i * 37) % 11) / 100 - 0.05, 0.05, 1, 0.5);
      s = r.state;
      fired ??= r.alarm;
    }
    expect(fired).toBeNull();
    let at = -1;
    for (let i = 0; i < 100 && at < 0; i++) {
      const r = phUpdate(s, 0.9, 0.05, 1, 0.5);
      s = r.state;
      if (r.alarm) {
        expect(r.alarm).toBe('up');
        at = i;
      }
    }
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(10);
  });

  it('total variation distance of category mixes', () => {
    expect(totalVariation({ a: 5, b: 5 }, { a: 1, b: 1 })).toBe(0);
    expect(totalVariation({ a: 10 }, { b: 3 })).toBe(1);
    expect(totalVariation({ a: 3, b: 1 }, { a: 1, b: 1 })).toBeCloseTo(0.25);
  });
});

describe('drift job', () => {
  it('measures the live score and category mix of the active model and reports it in health', async () => {
    const { onnx, manifest, catalog } = demoModel();
    await seedCatalog(catalog);
    await registerModel('d1', onnx, manifest);
    expect((await activate('d1')).status).toBe(200);
    await runCron('*/5 * * * *', Date.now() - 60_000); // first run: starts the detector for model d1
    for (let i = 0; i < 15; i++) expect((await recs({ slot: 'home', session_id: `drift-${i}`, k: 6 })).body.model_version).toBe('d1');
    await runCron('*/5 * * * *');
    const h = (await admin('/v1/admin/health')).body;
    expect(h.drift.model).toBe('d1');
    expect(h.drift.windows).toBe(1);
    expect(typeof h.drift.last.score).toBe('number');
    expect(h.drift.last.category).toBeGreaterThanOrEqual(0);
    expect(h.drift.reference_source.score).toMatch(/training|first_window/);
    expect(h.drift.alarms).toEqual({}); // the first window is the reference when the manifest has none
    expect(h.model.retrain_due).toBe(false);
  });

  it("compares with the manifest's training-time statistics from the first window, and marks a drifted model as due for retraining", async () => {
    const { onnx, manifest } = demoModel();
    // As `npm run model:retrain` records them; the live scores and categories are far from these.
    const training = { ...manifest.training, score_mean: 1000, category_shares: { 'category-never-served': 1 } };
    await registerModel('d2', onnx, { ...manifest, training });
    expect((await activate('d2')).status).toBe(200);
    await runCron('*/5 * * * *', Date.now() - 60_000);
    for (let i = 0; i < 5; i++) expect((await recs({ slot: 'home', session_id: `drift2-${i}`, k: 6 })).body.model_version).toBe('d2');
    await runCron('*/5 * * * *');
    const h = (await admin('/v1/admin/health')).body;
    expect(h.drift).toMatchObject({ model: 'd2', windows: 1, reference_source: { score: 'training', category: 'training' } });
    expect(h.drift.alarms.score.direction).toBe('down');
    expect(h.drift.alarms.category.direction).toBe('up');
    expect(h.reasons).toEqual(expect.arrayContaining(['drift', 'retrain_due']));
    expect(h.model).toMatchObject({ retrain_due: true, retrain_due_since: expect.any(Number) });
    expect(h.model.retrain_reason).toContain('score drifted down from its training-time reference');
    expect((await admin('/v1/admin/metrics')).body.retrain_due).toMatchObject({ due: true });
  });
});
