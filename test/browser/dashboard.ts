/**
 * The experiment dashboard in real headless Chromium (npm run test:browser:dashboard): a fresh
 * wrangler dev (own state directory, port 8796), a bandit and an A/B test fed with synthetic
 * shoppers through the public API, then the admin page opened with the bearer token. Checks
 * that it refuses anonymous access, shows every experiment with KPIs and intervals, draws the
 * charts as SVG, and shows the active model; saves docs/dashboard.png for the README.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium). Exits non-zero on any failed check.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { check, CHROMIUM, finish, SCREENSHOTS } from './env';
import { seededRng } from '../../worker/bandits/thompson';
import { localServerKeyHeader, migrate, ROOT, startDev } from '../../scripts/lib/wrangler';

const PORT = 8796;
const STATE = resolve(ROOT, '.tmp/browser-dashboard/state');
const TOKEN = 'dashboard-test-admin-token-0123456789';

rmSync(STATE, { recursive: true, force: true });
mkdirSync(STATE, { recursive: true });
migrate({ persistTo: STATE });
const dev = await startDev({ port: PORT, persistTo: STATE, vars: { ADMIN_TOKEN: TOKEN, ORIGIN_URL: '', BANDIT_TTL_MS: '500' } });
const url = dev.url;
const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
// Traffic comes from a storefront backend with its own session ids: the server key (.dev.vars).
const backend = localServerKeyHeader();
const api = async (path: string, method = 'GET', body?: unknown) => {
  const r = await fetch(`${url}${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = (await r.json()) as any;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
};

try {
  // A small catalog so recommendations have items.
  await api(
    '/v1/admin/catalog',
    'POST',
    Array.from({ length: 40 }, (_, i) => ({ item_id: `sku-${i}`, title: `Product ${i}`, category: ['skincare', 'makeup', 'haircare', 'fragrance'][i % 4], price: 10 + i, popularity: 100 - i })),
  );
  await api('/v1/admin/experiments', 'POST', {
    id: 'home-banner',
    name: 'Home banner (bandit)',
    slot: 'home-banner',
    kind: 'bandit',
    variants: [
      { name: 'spring-sale', strategy: 'popular' },
      { name: 'free-shipping', strategy: 'popular' },
      { name: 'new-in', strategy: 'popular' },
    ],
    bandit: { min_exploration: 0.05, shards: 4 },
  });
  await api('/v1/admin/experiments', 'POST', {
    id: 'home-recs-model',
    name: 'Home recommendations: model vs control',
    slot: 'home-recs',
    variants: [
      { name: 'control', strategy: 'control', control: true },
      { name: 'personalized', strategy: 'model' },
    ],
    mde: 0.02,
  });
  await api('/v1/admin/experiments/home-banner/start', 'POST');
  await api('/v1/admin/experiments/home-recs-model/start', 'POST');
  const ctr: Record<string, number> = { 'spring-sale': 0.04, 'free-shipping': 0.1, 'new-in': 0.02, control: 0.05, personalized: 0.08 };
  const rng = seededRng(11);
  const shopper = async (slot: string, i: number) => {
    const session = `${slot}-shopper-${i}`;
    const r = (await (await fetch(`${url}/v1/recommendations?slot=${slot}&session_id=${session}&k=4`, { headers: backend })).json()) as any;
    const ts = Date.now();
    const evs: any[] = [{ event_id: `${r.recommendation_id}-i`, type: 'impression', item_id: r.items[0].item_id, session_id: session, recommendation_id: r.recommendation_id, timestamp: ts }];
    if (rng() < ctr[r.variant]!) {
      evs.push({ event_id: `${r.recommendation_id}-c`, type: 'click', item_id: r.items[0].item_id, session_id: session, recommendation_id: r.recommendation_id, timestamp: ts + 1 });
      if (rng() < 0.3) evs.push({ event_id: `${r.recommendation_id}-p`, type: 'purchase', item_id: r.items[0].item_id, session_id: session, value: 20 + Math.round(rng() * 60), timestamp: ts + 2 });
    }
    return evs;
  };
  console.log('generating traffic (bandit 900 impressions, A/B 900 shoppers)…');
  for (let i = 0; i < 900; i += 10) {
    const evs = (await Promise.all(Array.from({ length: 10 }, (_, j) => Promise.all([shopper('home-banner', i + j), shopper('home-recs', i + j)])))).flat(2);
    const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { ...backend, 'content-type': 'application/json' }, body: JSON.stringify({ events: evs }) });
    assert.equal(r.status, 200);
    await new Promise((res) => setTimeout(res, 150)); // spread traffic over time so the charts have a shape
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await check('the dashboard refuses a browser without the admin token', async () => {
      const ctx = await browser.newContext();
      const res = await (await ctx.newPage()).goto(`${url}/v1/admin/dashboard`);
      assert.equal(res?.status(), 401);
      await ctx.close();
    });

    const ctx = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` }, viewport: { width: 1280, height: 1000 } });
    const page = await ctx.newPage();
    const res = await page.goto(`${url}/v1/admin/dashboard`);
    await check('opens with the token', async () => assert.equal(res?.status(), 200));
    await check('shows both experiments with KPIs and 95% intervals', async () => {
      assert.equal(await page.locator('section.exp').count(), 2);
      const text = await page.locator('main').innerText();
      for (const s of ['Home banner (bandit)', 'Home recommendations: model vs control', 'free-shipping', 'personalized', 'CTR uplift', 'mSPRT p', 'Sample ratio']) assert.ok(text.includes(s), `missing "${s}"`);
      assert.match(text, /\d+\.\d+% \[\d+\.\d+%, \d+\.\d+%\]/); // an estimate with its interval
    });
    await check('draws CTR-over-time and allocation charts as SVG', async () => {
      assert.ok((await page.locator('figure.chart svg polyline').count()) >= 5, 'CTR lines');
      assert.ok((await page.locator('figure.chart svg polygon').count()) >= 3, 'allocation bands');
      const captions = await page.locator('figcaption').allInnerTexts();
      assert.ok(captions.includes('Bandit traffic allocation over time'));
      assert.ok(captions.includes('Cumulative CTR per variant'));
    });
    await check('shows the active model version', async () => {
      assert.ok((await page.getByTestId('model-version').innerText()).length > 0);
    });
    await check('the bandit moved traffic to the best banner', async () => {
      const rep = await api('/v1/admin/experiments/home-banner/report');
      const served = Object.fromEntries(rep.variants.map((v: any) => [v.name, v.served]));
      assert.ok(served['free-shipping'] > served['spring-sale'] && served['free-shipping'] > served['new-in'], JSON.stringify(served));
    });
    await page.screenshot({ path: resolve(SCREENSHOTS, 'dashboard.png'), fullPage: true });
    console.log(`  screenshot: ${resolve(SCREENSHOTS, 'dashboard.png')}`);
    await ctx.close();
  } finally {
    await browser.close();
  }
} finally {
  await dev.stop();
}
finish('dashboard');
