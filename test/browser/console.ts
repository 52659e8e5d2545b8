/**
 * The operator console in real headless Chromium (npm run test:browser:console): a fresh
 * wrangler dev (own state directory, port 8797), a catalog and shoppers' events sent through the
 * public API, then the console used like an operator: sign in with the admin token through the
 * login form, preview a shopper with history, edit a slot template and watch the live preview
 * change, save it, and open the KPI page, whose figures must equal those computed here from the
 * events sent. Saves docs/console-*.png with P13N_SCREENSHOTS=docs (npm run docs:screenshots).
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium). Exits non-zero on any failed check.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { check, CHROMIUM, finish, SCREENSHOTS } from './env';
import { localServerKeyHeader, migrate, ROOT, startDev } from '../../scripts/lib/wrangler';

const PORT = 8793; // its own port: the storefront test takes 8797
const STATE = resolve(ROOT, '.tmp/browser-console/state');
const TOKEN = 'console-test-admin-token-0123456789';

rmSync(STATE, { recursive: true, force: true });
mkdirSync(STATE, { recursive: true });
migrate({ persistTo: STATE });
const dev = await startDev({ port: PORT, persistTo: STATE, vars: { ADMIN_TOKEN: TOKEN, ORIGIN_URL: '' } });
const url = dev.url;
const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const backend = { ...localServerKeyHeader(), 'content-type': 'application/json' };
const api = async (path: string, method = 'GET', body?: unknown, headers: Record<string, string> = admin) => {
  const r = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = (await r.json()) as any;
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j;
};

type Ev = { event_id: string; type: string; item_id: string; session_id: string; timestamp: number; value?: number; slot?: string; recommendation_id?: string };

/** The KPIs of a list of events, computed the way docs/console.md defines them (a reference for the page's figures). */
function expectedKpis(evs: Ev[]) {
  const visitors = new Set(evs.map((e) => e.session_id)).size;
  const purchases = evs.filter((e) => e.type === 'purchase');
  const orderOf = (e: Ev) => `${e.session_id}|${e.timestamp}`;
  const orders = new Set(purchases.map(orderOf));
  const revenue = purchases.reduce((s, e) => s + (e.value ?? 0), 0);
  const recRevenue = purchases.filter((e) => e.recommendation_id).reduce((s, e) => s + (e.value ?? 0), 0);
  // A repeat order: its session had an order at an earlier timestamp.
  const repeat = [...orders].filter((o) => {
    const [s, t] = o.split('|');
    return purchases.some((p) => p.session_id === s && p.timestamp < Number(t));
  }).length;
  return {
    conversion: `${((orders.size / visitors) * 100).toFixed(2)}%`,
    aov: (revenue / orders.size).toFixed(2),
    rpv: (revenue / visitors).toFixed(2),
    itemsPerOrder: (purchases.length / orders.size).toFixed(2),
    repeatRate: `${((repeat / orders.size) * 100).toFixed(2)}%`,
    recShare: `${((recRevenue / revenue) * 100).toFixed(2)}%`,
    counts: `${visitors} visitors · ${orders.size} orders · ${purchases.length} items · revenue ${revenue.toFixed(2)}`,
  };
}

try {
  await api(
    '/v1/admin/catalog',
    'POST',
    Array.from({ length: 40 }, (_, i) => ({ item_id: `sku-${i}`, title: `Product ${i}`, category: ['skincare', 'makeup', 'haircare', 'fragrance'][i % 4], price: 10 + i, popularity: 100 - i })),
  );
  // Shoppers, sent by the storefront's backend: a browsing and twice-buying shopper (the one the
  // preview shows), a buyer through a recommendation in slot "home", two who only look.
  const now = Date.now();
  let n = 0;
  const ev = (type: string, item: string, session: string, extra: Partial<Ev> = {}): Ev => ({ event_id: `console-ev-${++n}`, type, item_id: item, session_id: session, timestamp: now - 600_000 + n * 1000, ...extra });
  const t1 = now - 300_000;
  const events: Ev[] = [
    ev('view', 'sku-0', 'console-shopper'),
    ev('view', 'sku-4', 'console-shopper'),
    ev('view', 'sku-8', 'console-shopper'),
    ev('add_to_cart', 'sku-8', 'console-shopper'),
    ev('purchase', 'sku-8', 'console-shopper', { value: 25, timestamp: t1 }),
    ev('purchase', 'sku-12', 'console-shopper', { value: 15, timestamp: t1 }),
    ev('purchase', 'sku-16', 'console-shopper', { value: 30, timestamp: t1 + 60_000 }),
    ev('impression', 'sku-1', 'console-buyer', { slot: 'home', recommendation_id: 'console-rec-1' }),
    ev('impression', 'sku-5', 'console-buyer', { slot: 'home', recommendation_id: 'console-rec-1' }),
    ev('click', 'sku-1', 'console-buyer', { slot: 'home', recommendation_id: 'console-rec-1' }),
    ev('purchase', 'sku-1', 'console-buyer', { value: 50, slot: 'home', recommendation_id: 'console-rec-1' }),
    ev('view', 'sku-2', 'console-looker-1'),
    ev('view', 'sku-3', 'console-looker-2'),
  ];
  const sent = await api('/v1/events', 'POST', { events }, backend);
  assert.equal(sent.accepted, events.length, JSON.stringify(sent));
  // The queue consumer stores them (and writes the KPI rollups in the same D1 batch as the manifest).
  for (let i = 0; ; i++) {
    if ((await api('/v1/admin/stats')).events_total >= events.length) break;
    if (i > 150) throw new Error('events were not consumed in 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await ctx.newPage();
    await check('an anonymous browser is sent to the login form; a wrong token is refused', async () => {
      await page.goto(`${url}/console/kpis`);
      assert.match(page.url(), /\/console\/login$/);
      await page.fill('#token', 'not-the-token-0123456789');
      await Promise.all([page.waitForLoadState(), page.click('form[action="/console/login"] button[type=submit]')]);
      assert.match(await page.locator('[role=alert]').innerText(), /not the admin token/);
    });
    await check('signs in with the admin token (HttpOnly, SameSite=Strict session cookie)', async () => {
      await page.fill('#token', TOKEN);
      await Promise.all([page.waitForURL(`${url}/console`), page.click('form[action="/console/login"] button[type=submit]')]);
      assert.ok((await page.getByTestId('health-status').innerText()).length > 0);
      const cookie = (await ctx.cookies(`${url}/console`)).find((c) => c.name === 'p13n_console');
      assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));
      assert.ok(!cookie.value.includes(TOKEN));
    });

    await check('previews a shopper with history: their events, and reasons and scores drawn from them', async () => {
      await page.goto(`${url}/console/preview`);
      await page.fill('#session_id', 'console-shopper');
      await page.fill('#slots', 'home');
      await Promise.all([page.waitForURL(/session_id=console-shopper/), page.click('form[action="/console/preview"] button[type=submit]')]);
      const history = await page.getByTestId('history').innerText();
      for (const id of ['sku-0', 'sku-4', 'sku-8']) assert.ok(history.includes(id), `history lacks ${id}`);
      const rows = await page.locator('section[data-slot="home"] table.preview-items tbody tr').allInnerTexts();
      assert.ok(rows.length >= 3, `${rows.length} items`);
      assert.ok(rows.some((r) => /Because you (viewed|bought|added)/.test(r)), rows.join('\n'));
      assert.ok(rows.every((r) => /\d\.\d{4}/.test(r)), 'every item shows its score');
      // … and the score of each signal: the session's category weight is 1 for skincare, its strongest.
      assert.ok(rows.some((r) => /skincare[\s\S]*session category 1\b/.test(r)), rows.join('\n'));
      await page.screenshot({ path: resolve(SCREENSHOTS, 'console-preview.png'), fullPage: true });
      // A new visitor sees no personal reason.
      await page.goto(`${url}/console/preview?slots=home`);
      const anon = await page.locator('section[data-slot="home"] table.preview-items tbody tr').allInnerTexts();
      assert.ok(!anon.some((r) => /Because you/.test(r)), anon.join('\n'));
    });

    await check('edits the slot template: the live preview changes, and the saved template is served', async () => {
      await page.goto(`${url}/console/slots/home?session_id=console-shopper`);
      const frame = page.frameLocator('#preview');
      await frame.locator('li.p13n-item').first().waitFor({ timeout: 10_000 });
      const template = '<section class="edited"><h4>Hand-picked by the console test</h4><ol>{{#items}}<li class="edited-item">{{title}} · {{reason}}</li>{{/items}}</ol></section>';
      await page.fill('#template', template);
      await frame.locator('h4', { hasText: 'Hand-picked by the console test' }).waitFor({ timeout: 10_000 });
      assert.ok((await frame.locator('li.edited-item').count()) > 0);
      // A broken template is explained, not saved.
      await page.fill('#template', '{{#items}}unclosed');
      await page.locator('#preview-error').waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await page.locator('#preview-error').innerText(), /template/);
      await page.fill('#template', template);
      await page.locator('#preview-error').waitFor({ state: 'hidden', timeout: 10_000 });
      await frame.locator('h4', { hasText: 'Hand-picked by the console test' }).waitFor({ timeout: 10_000 });
      await page.screenshot({ path: resolve(SCREENSHOTS, 'console-slot-editor.png'), fullPage: true });
      await Promise.all([page.waitForURL(/done=/), page.click('#slot-form button[type=submit]')]);
      const block = await (await fetch(`${url}/v1/blocks/home?session_id=console-shopper`, { headers: localServerKeyHeader() })).text();
      assert.ok(block.includes('Hand-picked by the console test'), block.slice(0, 200));
    });

    await check('the KPI page shows the figures of the events sent', async () => {
      await page.goto(`${url}/console/kpis`);
      const want = expectedKpis(events);
      const tile = async (k: string) => (await page.locator(`[data-kpi="${k}"] b`).innerText()).trim();
      for (const k of ['conversion', 'aov', 'rpv', 'itemsPerOrder', 'repeatRate', 'recShare'] as const) assert.equal(await tile(k), want[k], k);
      assert.ok((await page.getByTestId('kpi-counts').innerText()).startsWith(want.counts), await page.getByTestId('kpi-counts').innerText());
      const slots = await page.getByTestId('kpi-slots').innerText();
      assert.match(slots, /home\s+2\s+1\s+50\.00%/);
      assert.ok((await page.locator('figure.chart').count()) >= 4);
      await page.screenshot({ path: resolve(SCREENSHOTS, 'console-kpis.png'), fullPage: true });
      console.log(`  screenshots: ${resolve(SCREENSHOTS, 'console-*.png')}`);
    });

    await check('creates, starts and stops an experiment; a bad one is explained with a 4xx page; the model page opens', async () => {
      await page.goto(`${url}/console/experiments`);
      await page.fill('#experiment', '{"id": "broken"}');
      const [bad] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/console/experiments') && r.request().method() === 'POST'), page.click('form[action="/console/experiments"] button')]);
      assert.equal(bad.status(), 400);
      assert.match(await page.locator('[role=alert]').innerText(), /slot|variants/);
      await page.goto(`${url}/console/experiments`);
      const exp = { id: 'console-home-test', name: 'Console: model vs popular', slot: 'home', variants: [{ name: 'control', strategy: 'popular', control: true }, { name: 'model', strategy: 'model' }] };
      await page.fill('#experiment', JSON.stringify(exp));
      await Promise.all([page.waitForURL(/done=/), page.click('form[action="/console/experiments"] button')]);
      for (const action of ['start', 'stop']) await Promise.all([page.waitForURL(/done=/), page.click(`form[action="/console/experiments/console-home-test/${action}"] button`)]);
      assert.equal((await api('/v1/admin/experiments/console-home-test')).status, 'stopped');
      assert.ok((await page.locator('section.exp[data-experiment="console-home-test"]').count()) === 1, 'the report card');
      const models = await page.goto(`${url}/console/models`);
      assert.equal(models?.status(), 200);
      await page.getByTestId('models').waitFor();
    });

    await check('signing out ends the session', async () => {
      await page.goto(`${url}/console`);
      await Promise.all([page.waitForURL(/\/console\/login$/), page.click('header form button')]);
      await page.goto(`${url}/console/models`);
      assert.match(page.url(), /\/console\/login$/);
    });
    await ctx.close();
  } finally {
    await browser.close();
  }
} finally {
  await dev.stop();
}
finish('console');
