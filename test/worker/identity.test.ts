/**
 * Identity and consent at the edge (worker/identity/shopper.ts), seen through the proxy and the API:
 * the session cookie only with consent, non-personalized content without it, GPC always respected,
 * logged-in shoppers only from a valid signed token.
 */
import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { verifyUserToken } from '../../worker/identity/shopper';
import { sessionStub } from '../../worker/session/client';
import { event, fetchWorker, fixtureCatalog, logEvents, postEvents, recommendations, seedCatalog, token, waitForLog } from './helpers';
import { call } from './ops-helpers';
import { originPage, page, setCookies, slot, slots, storePage } from './rewrite-helpers';
import './identity-jwt.cases';

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

/** A session id the worker issued to an anonymous shopper (worker/identity/session-id.ts). */
const ISSUED_SID = /^[A-Za-z0-9_-]{22}\.a\.[A-Za-z0-9_-]{22}$/;

/** A consenting shopper who viewed fragrance items: their blocks lean to fragrance. */
async function fragranceFan(): Promise<string> {
  const first = await page('/home', { cookies: { p13n_consent: 'granted' } });
  const sid = sidFrom(first.res)!;
  expect(sid).toMatch(ISSUED_SID);
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
    expect(setCookies(next.res).find((c) => c.startsWith('p13n_sid='))).toMatch(/; Path=\/; Max-Age=1800; SameSite=Lax; HttpOnly$/);
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
    expect(setCookies(res)).toEqual(['p13n_sid=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly', 'p13n_on=; Path=/; Max-Age=0; SameSite=Lax']);
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
    expect(sidFrom(res)).toMatch(ISSUED_SID);
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

describe('identity and consent on the API', () => {
  /** Events with these ids in the R2 log (not-stored ones never reach the queue, so no wait is needed for 0). */
  const eventCount = async (ids: string[]) => (await logEvents()).filter((r) => ids.includes(r.event_id)).length;

  it('a bare user_id is a claim anyone could forge: recommendations stay anonymous and say so', async () => {
    const bought = popular[0]!;
    const user_token = await token('api-shopper');
    await postEvents([event('purchase', bought, 'api-id-s1', { user_token, value: 3 })]);
    const signed = await recommendations({ slot: 'home', session_id: 'api-id-s2', user_token, k: 5 });
    expect(signed.headers.get('x-p13n-identity')).toBe('user');
    const bare = await recommendations({ slot: 'home', session_id: 'api-id-s3', user_id: 'api-shopper', k: 5 });
    expect(bare.status).toBe(200);
    expect(bare.headers.get('x-p13n-identity')).toBe('unverified');
    expect(bare.body.items.map((i: any) => i.item_id)).toContain(bought);
    // A token in the header works like the parameter.
    const viaHeader = await fetchWorker('/v1/recommendations?slot=home&k=5&session_id=api-id-s4', { headers: { 'x-p13n-user-token': user_token } });
    expect(viaHeader.headers.get('x-p13n-identity')).toBe('user');
  });

  it('events store a user only from a valid token; a bare or bad one is stored as anonymous, with a warning', async () => {
    const good = event('view', 'makeup-1', 'ev-id-s1', { user_token: await token('ev-user') });
    const bare = event('view', 'makeup-2', 'ev-id-s1', { user_id: 'ev-user' });
    const expired = event('view', 'makeup-3', 'ev-id-s1', { user_token: await token('ev-user', -10) });
    const r = await postEvents([good, bare, expired]);
    expect(r.body.accepted).toBe(3);
    expect(r.body.warnings.map((w: any) => w.field)).toEqual(['events.1.user_id', 'events.2.user_token']);
    const sessionKey = await pseudonymize(env, 's', 'ev-id-s1');
    const rows = (await logEvents()).filter((x) => x.session_key === sessionKey);
    const byId = new Map(rows.map((x) => [x.event_id, x.user_key]));
    expect(byId.get(good.event_id)).toBe(await pseudonymize(env, 'u', 'ev-user'));
    expect(byId.get(bare.event_id)).toBeNull();
    expect(byId.get(expired.event_id)).toBeNull();
  });

  it('events without consent are not stored, and the answer says so', async () => {
    const cases: [string, RequestInit['headers'], Record<string, unknown>][] = [
      ['gpc', { 'sec-gpc': '1', 'x-p13n-consent': 'granted' }, {}],
      ['header', { 'x-p13n-consent': 'denied' }, {}],
      ['cookie', { cookie: 'p13n_consent=no' }, {}],
      ['body', {}, { consent: 'essential' }],
    ];
    for (const [name, headers, extra] of cases) {
      const evs = [event('view', 'haircare-1', `no-consent-${name}`), event('click', 'haircare-2', `no-consent-${name}`)];
      const res = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ events: evs, ...extra }) });
      const body = (await res.json()) as any;
      expect(res.status, name).toBe(200);
      expect(body, name).toMatchObject({ accepted: 0, not_stored: 2, consent: 'essential' });
      expect(await eventCount(evs.map((e) => e.event_id)), name).toBe(0);
    }
    // A granted signal (or, for server calls, none: API_CONSENT_DEFAULT) stores them.
    const evs = [event('view', 'haircare-1', 'consenting')];
    const ok = await fetchWorker('/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', 'x-p13n-consent': 'granted' }, body: JSON.stringify({ events: evs }) });
    expect(await ok.json()).toMatchObject({ accepted: 1, not_stored: 0, consent: 'full' });
    await waitForLog([evs[0]!.event_id]);
    expect(await eventCount([evs[0]!.event_id])).toBe(1);
  });

  it('recommendations without consent ignore the session and create no session state', async () => {
    const sid = 'gpc-session-with-history';
    await postEvents(['fragrance-20', 'fragrance-21', 'fragrance-22'].map((id) => event('view', id, sid)));
    const personal = await recommendations({ slot: 'home', session_id: sid, k: 5 });
    expect(personal.body.items.every((i: any) => i.item_id.startsWith('fragrance-'))).toBe(true);
    const res = await fetchWorker(`/v1/recommendations?slot=home&k=5&session_id=${sid}`, { headers: { 'sec-gpc': '1' } });
    expect(res.headers.get('x-p13n-consent')).toBe('essential');
    expect(((await res.json()) as any).items.map((i: any) => i.item_id)).toEqual(popular.slice(0, 5));
  });

  it('tokens signed with the previous key stay valid during a key rotation', async () => {
    const rotated = { IDENTITY_SECRET: 'the-new-identity-secret', IDENTITY_SECRET_PREVIOUS: env.IDENTITY_SECRET };
    const oldToken = await token('rotating-user');
    const newToken = await token('rotating-user', 3600, rotated.IDENTITY_SECRET);
    expect(await verifyUserToken(rotated, oldToken)).toBe('rotating-user');
    expect(await verifyUserToken(rotated, newToken)).toBe('rotating-user');
    expect(await verifyUserToken({ IDENTITY_SECRET: rotated.IDENTITY_SECRET }, oldToken)).toBeNull();
    expect(await verifyUserToken(rotated, await token('rotating-user', 3600, 'a-third-key'))).toBeNull();
    // Through the API with the rotated configuration.
    const res = await call('/v1/recommendations?slot=home&k=1', { headers: { 'x-p13n-user-token': oldToken } }, rotated as Partial<Env>);
    expect(res.headers.get('x-p13n-identity')).toBe('user');
  });

  it("at login, the session's anonymous history joins the shopper's profile", async () => {
    const sid = 'login-merge-session';
    await postEvents([event('view', 'skincare-5', sid), event('purchase', 'skincare-6', sid, { value: 12 })]);
    // The shopper logs in: the next event of the session carries their token.
    const user_token = await token('merging-user');
    await postEvents([event('view', 'skincare-7', sid, { user_token })]);
    await runDurableObjectAlarm(sessionStub(env, await pseudonymize(env, 's', sid), await pseudonymize(env, 'u', 'merging-user')));
    const row = (await env.DB.prepare('SELECT * FROM profiles WHERE user_key = ?').bind(await pseudonymize(env, 'u', 'merging-user')).first()) as any;
    expect(JSON.parse(row.purchases)).toEqual(['skincare-6']);
    expect(row.event_count).toBe(3);
    // In a later session on another device, the anonymous purchase is excluded for them.
    const later = await recommendations({ slot: 'home', session_id: 'login-merge-other-device', user_token, k: 30, category: 'skincare' });
    expect(later.body.items.map((i: any) => i.item_id)).not.toContain('skincare-6');
  });
});
