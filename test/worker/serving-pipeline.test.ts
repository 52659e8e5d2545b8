/**
 * One serving pipeline (worker/serving/): the JSON API, the HTML block route and the HTML proxy
 * serve a slot through the same stages and the same registered strategies; a strategy that fails
 * hands over to the next in its chain; the slot config is read once per request.
 * Real D1, Durable Objects, R2 and ONNX throughout.
 */
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Timing } from '../../worker/lib/timing';
import { candidates } from '../../worker/serving/candidates';
import { loadContext } from '../../worker/serving/context';
import { plan } from '../../worker/serving/plan';
import { chainFrom, registerStrategy } from '../../worker/serving/strategies/registry';
import * as slotConfig from '../../worker/slots/config';
import { adminJson, fetchWorker, recommendations, seedCatalog } from './helpers';
import { activate, demoModel, registerModel } from './model-helpers';
import { call } from './ops-helpers';
import { CONSENT, originPage, page, slot, slots, storePage } from './rewrite-helpers';

const { onnx, manifest, catalog, brokenRank } = demoModel();
const inStock = catalog.filter((i: any) => i.in_stock !== false).map((i: any) => i.item_id as string);

beforeAll(async () => {
  await seedCatalog(catalog);
  await registerModel('good-1', onnx, manifest);
  expect((await activate('good-1')).status).toBe(200);
  // A rank graph with valid checksums that expects one feature more than the contract's: it
  // loads, then every inference fails (as in canary.test.ts).
  await registerModel('broken-2', brokenRank, manifest);
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function startExperiment(body: Record<string, unknown>) {
  const created = await adminJson('/v1/admin/experiments', 'POST', body);
  expect(created.status, await created.clone().text()).toBe(200);
  expect((await adminJson(`/v1/admin/experiments/${body.id}/start`, 'POST')).status).toBe(200);
}

describe('a strategy serves the API and the proxy alike', () => {
  it("an editorial variant's items, and only those, in /v1/recommendations, /v1/blocks and a proxied page's slot", async () => {
    const picks = [inStock[40]!, inStock[7]!, inStock[23]!];
    await startExperiment({
      id: 'pipe-editorial',
      slot: 'pipe-edit',
      variants: [
        { name: 'picks', strategy: 'editorial', items: picks, weight: 1 },
        { name: 'never', strategy: 'popular', weight: 0 },
      ],
    });

    const api = await recommendations({ slot: 'pipe-edit', session_id: 'pipe-api', k: 4 });
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ strategy: 'editorial', fallback: false, model_version: null, experiment: 'pipe-editorial', variant: 'picks' });
    expect(api.body.items.map((i: any) => i.item_id)).toEqual(picks);

    const block = await fetchWorker('/v1/blocks/pipe-edit?session_id=pipe-block&k=4');
    expect(block.status).toBe(200);
    expect([...(await block.text()).matchAll(/data-p13n-item-id="([^"]*)"/g)].map((m) => m[1])).toEqual(picks);

    await originPage('/pipe-edit-page', storePage(slot('pipe-edit', { k: 4 })));
    const { html } = await page('/pipe-edit-page', { cookies: { p13n_consent: 'granted', p13n_sid: 'pipe-proxy' } });
    const filled = slots(html).get('pipe-edit')!;
    expect(filled.state).toBe('filled');
    expect(filled.strategy).toBe('editorial');
    expect(filled.items).toEqual(picks);
  });
});

describe('fallback chains', () => {
  it('a failing registered strategy hands over to the next in its chain, which answers with fallback: true', async () => {
    // Registered through the same public API as the built-in strategies; only this test plans it.
    registerStrategy({
      name: 'test-always-fails',
      reportAs: 'model',
      fallbackTo: 'popular',
      async candidates() {
        throw new Error('deliberately broken');
      },
    });
    const timing = new Timing();
    const req = { slot: 'pipe-chain', k: 5, in_stock: true, include_purchased: false };
    const ctx = await loadContext(req, { env, timing, shopper: { userId: null } });
    const planned = { ...plan(ctx), chain: chainFrom('test-always-fails') };
    expect(planned.chain.map((s) => s.name)).toEqual(['test-always-fails', 'popular']);
    const outcome = await candidates(ctx, planned);
    expect(outcome.by.name).toBe('popular');
    expect(outcome.tried.map((s) => s.name)).toEqual(['test-always-fails', 'popular']);
    expect(outcome.failed).toBe(true);
    expect(outcome.fallback).toBe(true);
    expect(outcome.answer.ranked.length).toBe(planned.want);
  });

  it('a pinned model version that cannot score falls through to the active model (not a popularity fallback)', async () => {
    await startExperiment({
      id: 'pipe-pinned',
      slot: 'pipe-pinned',
      variants: [
        { name: 'pinned', strategy: 'model_version', model_version: 'broken-2', weight: 1 },
        { name: 'never', strategy: 'popular', weight: 0 },
      ],
    });
    const r = await recommendations({ slot: 'pipe-pinned', session_id: 'pipe-pinned-1', k: 5 });
    expect(r.body).toMatchObject({ strategy: 'model', model_version: 'good-1', fallback: false, variant: 'pinned' });
    expect(r.body.items).toHaveLength(5);
  });

  it('when the active model fails, the popularity list answers with fallback: true, in the API and in the proxy', async () => {
    expect((await activate('broken-2')).status).toBe(200);
    const r = await recommendations({ slot: 'pipe-home', session_id: 'pipe-fallback', k: 5 });
    expect(r.body).toMatchObject({ strategy: 'popular', model_version: null, fallback: true });
    expect(r.headers.get('x-p13n-fallback')).toBe('1');
    expect(r.body.items).toHaveLength(5);

    await originPage('/pipe-fallback-page', storePage(slot('pipe-home', { k: 5 })));
    const { html } = await page('/pipe-fallback-page', { cookies: { p13n_consent: 'granted', p13n_sid: 'pipe-fallback' } });
    const filled = slots(html).get('pipe-home')!;
    expect(filled.state).toBe('filled');
    expect(filled.strategy).toBe('popular');
    expect(filled.items).toEqual(r.body.items.map((i: any) => i.item_id));
    expect((await activate('good-1')).status).toBe(200);
  });
});

describe('slot config', () => {
  /** Calls of the slot config loader per slot name while `fn` runs. */
  async function configReads(fn: () => Promise<unknown>): Promise<Record<string, number>> {
    const spy = vi.spyOn(slotConfig, 'getSlotConfig');
    try {
      await fn();
      const out: Record<string, number> = {};
      for (const [, slotName] of spy.mock.calls) out[slotName] = (out[slotName] ?? 0) + 1;
      return out;
    } finally {
      spy.mockRestore();
    }
  }

  it('is read once per request by the API, the block route and each slot of a proxied page', async () => {
    const template = '<ol class="compact">{{#items}}<li data-p13n-item-id="{{item_id}}">{{title}}</li>{{/items}}</ol>';
    expect((await adminJson('/v1/admin/slots/pipe-compact', 'PUT', { template })).status).toBe(200);

    expect(await configReads(() => call('/v1/recommendations?slot=pipe-once&session_id=pipe-once&k=3'))).toEqual({ 'pipe-once': 1 });
    expect(await configReads(() => call('/v1/recommendations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slot: 'pipe-once', k: 3 }) }))).toEqual({
      'pipe-once': 1,
    });
    expect(await configReads(() => call('/v1/blocks/pipe-once?k=3'))).toEqual({ 'pipe-once': 1 });

    // Two slots; the second asks for another slot config's template (data-p13n-template).
    await originPage('/pipe-once-page', storePage(slot('pipe-a', { k: 2 }) + slot('pipe-b', { k: 2, template: 'pipe-compact' })));
    let html = '';
    const reads = await configReads(async () => {
      html = await (await call('/pipe-once-page', { headers: { accept: 'text/html', cookie: CONSENT.cookie } })).text();
    });
    expect(reads).toEqual({ 'pipe-a': 1, 'pipe-b': 1, 'pipe-compact': 1 });
    const filled = slots(html);
    expect(filled.get('pipe-a')!.state).toBe('filled');
    expect(filled.get('pipe-b')!.inner).toMatch(/^<ol class="compact">/);
  });
});
