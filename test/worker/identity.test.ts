/**
 * Identity and consent at the edge (worker/identity/shopper.ts), seen through the proxy and the API:
 * the session cookie only with consent, non-personalized content without it, GPC always respected,
 * logged-in shoppers only from a valid signed token.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { verifyUserToken } from '../../worker/identity/shopper';
import { event, fixtureCatalog, postEvents, recommendations, seedCatalog } from './helpers';
import { originPage, page, setCookies, slot, slots, storePage, token } from './rewrite-helpers';

const popular = fixtureCatalog()
  .sort((a, b) => b.popularity - a.popularity)
  .map((i) => i.item_id);
const HOME = storePage('<h1>Home</h1>' + slot('home-recs', { k: 5 }));

beforeAll(async () => {
  await seedCatalog();
  await originPage('/home', HOME);
});

function sidFrom(res: Response): string | undefined {
  return setCookies(res)
    .map((c) => /^p13n_sid=([^;]*)/.exec(c)?.[1])
    .find((v) => v !== undefined);
}

/** A consenting shopper who viewed fragrance items: their blocks lean to fragrance. */
async function fragranceFan(): Promise<string> {
  const first = await page('/home', { cookies: { p13n_consent: 'granted' } });
  const sid = sidFrom(first.res)!;
  expect(sid).toMatch(/^[A-Za-z0-9_-]{24}$/);
  const posted = await postEvents(['fragrance-10', 'fragrance-11', 'fragrance-12', 'fragrance-13'].map((id) => event('view', id, sid)));
  expect(posted.body.accepted).toBe(4);
  return sid;
}

const homeItems = (html: string) => slots(html).get('home-recs')!.items;

describe('consent', () => {
  it('with consent: a first-party session cookie, kept across pages, and blocks that follow browsing', async () => {
    const sid = await fragranceFan();
    const next = await page('/home', { cookies: { p13n_consent: 'granted', p13n_sid: sid } });
    expect(sidFrom(next.res)).toBe(sid);
    expect(setCookies(next.res).find((c) => c.startsWith('p13n_sid='))).toMatch(/; Path=\/; Max-Age=1800; SameSite=Lax$/);
    expect(homeItems(next.html).every((id) => id.startsWith('fragrance-'))).toBe(true);
  });

  it('without a consent signal: no cookie, and the same non-personalized list for everyone', async () => {
    const { res, html } = await page('/home');
    expect(setCookies(res)).toEqual([]);
    const s = slots(html).get('home-recs')!;
    expect(s.state).toBe('filled');
    expect(s.items).toEqual(popular.slice(0, 5));
  });

  it('consent withdrawn (cookie says no): history is not used and the old session cookie is removed', async () => {
    const sid = await fragranceFan();
    const { res, html } = await page('/home', { cookies: { p13n_consent: 'denied', p13n_sid: sid } });
    expect(homeItems(html)).toEqual(popular.slice(0, 5));
    expect(setCookies(res)).toEqual(['p13n_sid=; Path=/; Max-Age=0; SameSite=Lax']);
  });

  it('Sec-GPC: 1 wins over a consent cookie', async () => {
    const sid = await fragranceFan();
    const { res, html } = await page('/home', { cookies: { p13n_consent: 'granted', p13n_sid: sid }, headers: { 'sec-gpc': '1' } });
    expect(homeItems(html)).toEqual(popular.slice(0, 5));
    expect(setCookies(res).every((c) => c.includes('Max-Age=0'))).toBe(true);
    const fresh = await page('/home', { cookies: { p13n_consent: 'granted' }, headers: { 'sec-gpc': '1' } });
    expect(setCookies(fresh.res)).toEqual([]);
  });

  it('the consent header is a signal too', async () => {
    const sid = await fragranceFan();
    const granted = await page('/home', { cookies: { p13n_sid: sid }, headers: { 'x-p13n-consent': 'granted' } });
    expect(homeItems(granted.html).every((id) => id.startsWith('fragrance-'))).toBe(true);
    const refused = await page('/home', { cookies: { p13n_sid: sid }, headers: { 'x-p13n-consent': 'no' } });
    expect(homeItems(refused.html)).toEqual(popular.slice(0, 5));
  });

  it('a malformed session cookie is replaced, never echoed', async () => {
    const { res } = await page('/home', { cookies: { p13n_consent: 'granted', p13n_sid: 'x<script>' } });
    expect(sidFrom(res)).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });
});

describe('signed shopper tokens', () => {
  // The shopper's long-term profile says they bought the most popular item; a recognised
  // shopper never gets it recommended, an anonymous one does.
  const USER = 'shopper-777';
  beforeAll(async () => {
    const key = await pseudonymize(env, 'u', USER);
    const now = Date.now();
    await env.DB.prepare(
      'INSERT INTO profiles (user_key, affinities, recent_items, purchases, event_count, purchase_count, monetary, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, 1, 1, 5, ?, ?, ?)',
    )
      .bind(key, '{}', '[]', JSON.stringify([popular[0]]), now, now, now)
      .run();
  });

  async function homeWith(cookies: Record<string, string>, headers: Record<string, string> = {}) {
    return homeItems((await page('/home', { cookies: { p13n_consent: 'granted', ...cookies }, headers })).html);
  }

  it('a valid token (cookie or header) recognises the shopper', async () => {
    const t = await token(USER, 3600);
    expect(await homeWith({ p13n_uid: t })).not.toContain(popular[0]);
    expect(await homeWith({}, { 'x-p13n-user-token': t })).not.toContain(popular[0]);
    expect(await homeWith({})).toContain(popular[0]);
  });

  it('forged, expired, tampered or bare-id tokens are anonymous', async () => {
    const valid = await token(USER, 3600);
    const forged = await token(USER, 3600, 'not-the-secret');
    const expired = await token(USER, -5);
    const [, sig] = valid.split('.');
    const otherPayload = (await token('someone-else', 3600)).split('.')[0];
    const tampered = `${otherPayload}.${sig}`;
    for (const t of [forged, expired, tampered, USER, `${valid}x`, 'a.b.c', '']) {
      expect(await verifyUserToken(env as never, t)).toBeNull();
      expect(await homeWith({ p13n_uid: t })).toContain(popular[0]);
    }
    expect(await verifyUserToken(env as never, valid)).toBe(USER);
  });

  it('without consent a valid token is not used either', async () => {
    const t = await token(USER, 3600);
    const { html } = await page('/home', { cookies: { p13n_uid: t } });
    expect(homeItems(html)).toEqual(popular.slice(0, 5));
  });

  it('the recommendations API accepts the same token, and treats a bad one as anonymous', async () => {
    const t = await token(USER, 3600);
    const ok = await recommendations({ slot: 'home', session_id: 'api-token-s1', user_token: t, k: 5 });
    expect(ok.status).toBe(200);
    expect(ok.body.items.map((i: any) => i.item_id)).not.toContain(popular[0]);
    const bad = await recommendations({ slot: 'home', session_id: 'api-token-s2', user_token: await token(USER, -1), k: 5 });
    expect(bad.status).toBe(200);
    expect(bad.body.items.map((i: any) => i.item_id)).toContain(popular[0]);
  });
});
