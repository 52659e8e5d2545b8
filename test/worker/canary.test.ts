/**
 * Safe model rollout: a canary gets a share of traffic; the rule compares it with the stable
 * model and promotes or rolls it back by itself, recording why.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { postEvents, seedCatalog } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';
import { admin, captureLogs, recs, runCron } from './ops-helpers';

const { onnx, manifest, catalog, brokenRank } = demoModel();

beforeAll(async () => {
  await seedCatalog(catalog);
  await registerModel('good-1', onnx, manifest);
  expect((await activate('good-1')).status).toBe(200);
});

/** Send recommendation requests from distinct sessions until the canary is decided (or `max`). */
async function trafficUntilDecided(prefix: string, max: number) {
  const served: { session: string; model: string | null; fallback: boolean }[] = [];
  for (let i = 0; i < max; i++) {
    const r = await recs({ slot: 'home', session_id: `${prefix}-${i}`, k: 5 });
    expect(r.status).toBe(200);
    served.push({ session: `${prefix}-${i}`, model: r.body.model_version, fallback: r.body.fallback });
    if (i % 10 === 9 && (await admin('/v1/admin/models/canary')).body.running === null) break;
  }
  return served;
}

describe('canary rollout', () => {
  it('a deliberately broken model as a canary is rolled back automatically and traffic stays on the good version', async () => {
    // A rank graph with valid checksums that expects one feature more than the contract's:
    // it loads, then every inference fails.
    await registerModel('broken-2', brokenRank, manifest);

    const started = await admin('/v1/admin/models/broken-2/canary', 'POST', { share: 0.5, min_requests: 20, min_impressions: 0 });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ version: 'broken-2', stable_version: 'good-1', share: 0.5, status: 'running' });

    const { result: served, lines } = await captureLogs(() => trafficUntilDecided('broken', 200));

    // Shoppers never saw the broken model: its share fell back to the stable one, not to an error.
    expect(served.every((s) => s.model === 'good-1' && !s.fallback)).toBe(true);

    const state = (await admin('/v1/admin/models/canary')).body;
    expect(state.running).toBeNull();
    const decided = state.recent.find((r: any) => r.version === 'broken-2');
    expect(decided.status).toBe('rolled_back');
    expect(decided.decision.action).toBe('rollback');
    expect(decided.decision.decided_by).toBe('rule');
    expect(decided.decision.reason).toMatch(/error\+fallback rate 100\.00% vs stable 0\.00%/);
    expect(decided.decision.canary.requests).toBeGreaterThanOrEqual(20);
    expect(decided.decision.canary.errors).toBe(decided.decision.canary.requests);
    expect(decided.decision.stable.errors).toBe(0);

    // The decision is in the log as one JSON line.
    const logged = lines.find((l) => l.msg === 'canary_decision');
    expect(logged).toMatchObject({ level: 'warn', version: 'broken-2', stable_version: 'good-1', action: 'rollback' });

    // Registry: the canary is retired, the good version is still the active one.
    const models = (await admin('/v1/admin/models')).body.models;
    expect(models.find((m: any) => m.version === 'broken-2').status).toBe('retired');
    expect(models.find((m: any) => m.version === 'good-1').status).toBe('active');

    // All traffic is back on the good version — including the sessions that were in the canary share.
    for (const s of served.slice(0, 40)) {
      const r = await recs({ slot: 'home', session_id: s.session, k: 5 });
      expect(r.body.model_version).toBe('good-1');
      expect(r.body.fallback).toBe(false);
    }
    const health = (await admin('/v1/admin/health')).body;
    expect(health.model.version).toBe('good-1');
    expect(health.model.canary).toBeNull();
  });

  it('splits traffic by share, sticky per session, and promotes a healthy canary by rule', async () => {
    await registerModel('good-3', onnx, manifest);
    const started = await admin('/v1/admin/models/good-3/canary', 'POST', { share: 0.3, min_requests: 30, min_impressions: 0 });
    expect(started.status).toBe(200);

    // Before the decision: about 30% of sessions on good-3, each session always on the same model.
    const sample: Record<string, string> = {};
    for (let i = 0; i < 60; i++) {
      const r = await recs({ slot: 'home', session_id: `split-${i}`, k: 5 });
      expect(r.body.fallback).toBe(false);
      sample[`split-${i}`] = r.body.model_version;
    }
    const onCanary = Object.values(sample).filter((v) => v === 'good-3').length;
    expect(onCanary).toBeGreaterThan(6); // 30% of 60 = 18; far from 0 and from 60
    expect(onCanary).toBeLessThan(36);
    for (const [session, version] of Object.entries(sample).slice(0, 20)) {
      const again = await recs({ slot: 'home', session_id: session, k: 5 });
      if ((await admin('/v1/admin/models/canary')).body.running === null) break; // decided meanwhile
      expect(again.body.model_version).toBe(version);
    }

    await trafficUntilDecided('more', 300);
    const decided = (await admin('/v1/admin/models/canary')).body.recent.find((r: any) => r.version === 'good-3');
    expect(decided.status).toBe('promoted');
    expect(decided.decision.action).toBe('promote');
    const models = (await admin('/v1/admin/models')).body.models;
    expect(models.find((m: any) => m.version === 'good-3')).toMatchObject({ status: 'active', previous_version: 'good-1' });
    // Isolates pick the promotion up at their next registry check (MODEL_TTL_MS; 0 in tests, in
    // the background): from then on every session is on good-3.
    await recs({ slot: 'home', session_id: 'after-promotion', k: 5 });
    for (let i = 0; i < 10; i++) expect((await recs({ slot: 'home', session_id: `after-promotion-${i}`, k: 5 })).body.model_version).toBe('good-3');
  });

  it('the 5-minute cron job applies the rule too, and a canary can be aborted by hand', async () => {
    await registerModel('good-4', onnx, manifest);
    expect((await admin('/v1/admin/models/good-4/canary', 'POST', { share: 0.5, min_requests: 1000 })).status).toBe(200);
    // A second canary while one runs is refused.
    expect((await admin('/v1/admin/models/good-1/canary', 'POST', {})).status).toBe(409);
    for (let i = 0; i < 10; i++) await recs({ slot: 'home', session_id: `cron-${i}`, k: 3 });
    await runCron('*/5 * * * *');
    const running = (await admin('/v1/admin/models/canary')).body.running;
    expect(running.version).toBe('good-4'); // not enough traffic: the rule waits
    expect(running.counts.canary.requests + running.counts.stable.requests).toBe(10);

    const aborted = await admin('/v1/admin/models/canary/abort', 'POST');
    expect(aborted.status).toBe(200);
    expect(aborted.body.status).toBe('cancelled');
    const models = (await admin('/v1/admin/models')).body.models;
    expect(models.find((m: any) => m.version === 'good-4').status).toBe('retired');
    expect((await recs({ slot: 'home', session_id: 'cron-0', k: 3 })).body.model_version).toBe('good-3');
    expect(env.DB).toBeDefined();
  });

  it('rolls back a canary whose click-through rate falls short of the stable model by more than allowed', async () => {
    // The same graph under another version: only the shoppers' clicks tell the two apart here.
    await registerModel('dull-5', onnx, manifest);
    const started = await admin('/v1/admin/models/dull-5/canary', 'POST', { share: 0.5, min_requests: 10, min_impressions: 20, max_ctr_drop: 0.2 });
    expect(started.status).toBe(200);
    const events: Record<string, unknown>[] = [];
    const arms = { canary: 0, stable: 0 };
    for (let i = 0; i < 40; i++) {
      const session = `ctr-${i}`;
      const r = await recs({ slot: 'home', session_id: session, k: 3 });
      const onCanary = r.body.model_version === 'dull-5';
      arms[onCanary ? 'canary' : 'stable']++;
      r.body.items.forEach((it: any, j: number) => {
        const base = { item_id: it.item_id, session_id: session, recommendation_id: r.body.recommendation_id, slot: 'home', timestamp: Date.now() };
        events.push({ ...base, event_id: `ctr-imp-${i}-${j}`, type: 'impression' });
        // Shoppers click the stable model's first item and never the canary's.
        if (!onCanary && j === 0) events.push({ ...base, event_id: `ctr-click-${i}`, type: 'click' });
      });
    }
    expect(arms.canary).toBeGreaterThanOrEqual(10);
    expect(arms.stable).toBeGreaterThanOrEqual(10);
    // Enough requests but no impressions yet: the rule waits for the CTR comparison.
    expect((await admin('/v1/admin/models/canary')).body.running?.version).toBe('dull-5');
    expect((await postEvents(events)).body.accepted).toBe(events.length);

    await runCron('*/5 * * * *');
    const state = (await admin('/v1/admin/models/canary')).body;
    expect(state.running).toBeNull();
    const decided = state.recent.find((r: any) => r.version === 'dull-5');
    expect(decided.status).toBe('rolled_back');
    expect(decided.decision.reason).toMatch(/^canary CTR 0\.00% vs stable [1-9]/);
    expect(decided.decision.canary.errors).toBe(0);
    expect((await recs({ slot: 'home', session_id: 'ctr-0', k: 3 })).body.model_version).toBe('good-3');
  });
});

