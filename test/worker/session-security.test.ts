/**
 * Issue 13, session findings: a session id is no longer a key to someone's history. The worker
 * issues and signs session ids (HttpOnly cookie); public callers may use only a session issued to
 * them, storefront backends name their own with the server key; a new session at login and at
 * logout; state per (session, shopper), so naming a session id never reads or merges another
 * person's history; access and erasure by the shopper's own key; browser calls get the opt-in
 * consent default; every session object expires when idle.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { sessionStub } from '../../worker/session/client';
import { event, fetchWorker, fixtureCatalog, postEvents, publicCaller, recommendations, seedCatalog, token } from './helpers';
import { call, rightsJob } from './ops-helpers';
import { originPage, page, setCookies, slot, slots, storePage } from './rewrite-helpers';

const run = Math.random().toString(36).slice(2, 8);
const popular = fixtureCatalog()
  .sort((a, b) => b.popularity - a.popularity)
  .map((i) => i.item_id);
const ANON_SID = /^[A-Za-z0-9_-]{22}\.a\.[A-Za-z0-9_-]{22}$/;
const USER_SID = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{22}$/;

beforeAll(async () => {
  await seedCatalog();
  await originPage('/sec-home', storePage('<h1>Home</h1>' + slot('sec-home', { k: 5 })));
});

const sidFrom = (res: Response) => setCookies(res).map((c) => /^p13n_sid=([^;]*)/.exec(c)?.[1]).find((v) => v !== undefined);

/** A consenting browser's page through the proxy: its session cookie and the slot's items. */
async function browse(cookies: Record<string, string>) {
  const { res, html } = await page('/sec-home', { cookies: { p13n_consent: 'granted', ...cookies } });
  return { sid: sidFrom(res), cookies: setCookies(res), items: slots(html).get('sec-home')!.items };
}

/** A browser (no server key) sending events: the cookie names its session; events with session_id '' name none (as the snippet's). */
async function beacon(cookies: Record<string, string>, events: Record<string, unknown>[]) {
  const cookie = Object.entries({ p13n_consent: 'granted', ...cookies })
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
  const res = await fetchWorker('/v1/events', {
    method: 'POST',
    headers: publicCaller({ 'content-type': 'application/json', origin: 'https://shop.test', cookie }),
    body: JSON.stringify({ events: events.map(({ session_id, ...e }) => (session_id ? { session_id, ...e } : e)) }),
  });
  return { status: res.status, body: await res.json<any>() };
}

const asStranger = (path: string, headers: Record<string, string> = {}) => fetchWorker(path, { headers: publicCaller(headers) });

describe('high: a session id is a key to someone history', () => {
  it("a client holding only another shopper's session id sees nothing of theirs, on /v1/recommendations and /v1/blocks/:slot", async () => {
    // A storefront backend (server key) records a purchase in a session id of its own.
    const S = `backend-session-${run}`;
    await postEvents([event('view', 'fragrance-3', S), event('purchase', 'fragrance-4', S, { value: 40 })]);
    const own = await recommendations({ slot: 'home', session_id: S, k: 5 });
    expect(own.body.items.some((i: any) => i.reason.startsWith('Because you'))).toBe(true);
    // Anyone else naming that id is refused, with a reason; nothing of the session comes back.
    for (const path of [`/v1/recommendations?slot=home&k=5&session_id=${S}`, `/v1/blocks/home?k=5&session_id=${S}`]) {
      const res = await asStranger(path);
      expect(res.status, path).toBe(403);
      const body = await res.text();
      expect(JSON.parse(body).error.code).toBe('session_not_issued');
      expect(body).not.toContain('Because you');
    }
    // A wrong server key is no server key; the next key (rotation) is one.
    expect((await asStranger(`/v1/recommendations?slot=home&session_id=${S}`, { 'x-p13n-server-key': 'not-the-server-key-0000' })).status).toBe(403);
    const next = 'the-next-server-key-0123456789';
    expect((await call(`/v1/recommendations?slot=home&session_id=${S}`, { headers: { 'x-p13n-server-key': next } }, { SERVER_KEY_NEXT: next })).status).toBe(200);

    // A signed-in browser's issued session, and a stranger (signed in as themself, or not) naming it.
    const victim = await token(`victim-${run}`);
    const { sid: V } = await browse({ p13n_uid: victim });
    expect(V).toMatch(USER_SID);
    expect((await beacon({ p13n_sid: V!, p13n_uid: victim }, [event('purchase', 'makeup-8', '', { value: 30 })])).body.accepted).toBe(1);
    const mine = await call(`/v1/recommendations?slot=home&k=5&session_id=${V}`, { headers: publicCaller({ cookie: `p13n_consent=granted; p13n_uid=${victim}` }) });
    expect(mine.status).toBe(200);
    for (const headers of [{}, { 'x-p13n-user-token': await token(`stranger-${run}`) }] as Record<string, string>[]) {
      const res = await asStranger(`/v1/blocks/home?k=5&session_id=${V}`, headers);
      expect(res.status).toBe(403);
      expect(await res.text()).not.toContain('makeup product 8');
    }
  });

  it('a planted session cookie is replaced (HttpOnly), and the page shows nothing of the planted session', async () => {
    // The attacker chose a well-formed id and gave it history through the API, then planted it.
    const planted = `planted-session-${run}-xyz`;
    await postEvents([event('view', 'haircare-20', planted), event('purchase', 'haircare-21', planted, { value: 9 })]);
    const { sid, cookies, items } = await browse({ p13n_sid: planted });
    expect(sid).not.toBe(planted);
    expect(sid).toMatch(ANON_SID);
    expect(cookies.find((c) => c.startsWith('p13n_sid='))).toContain('HttpOnly');
    expect(items).toEqual(popular.slice(0, 5));
    // A forged signature is no better.
    const forged = `${sid!.slice(0, -4)}AAAA`;
    expect((await browse({ p13n_sid: forged })).sid).not.toBe(forged);
  });

  it('a new session at login and at logout; at login the browser’s own anonymous history follows the shopper', async () => {
    const user = `login-${run}`;
    const userKey = await pseudonymize(env, 'u', user);
    const { sid: anon } = await browse({});
    expect((await beacon({ p13n_sid: anon! }, [event('view', 'skincare-11', anon!), event('add_to_cart', 'skincare-12', anon!)])).body.accepted).toBe(2);
    const t = await token(user);
    const { sid: signedIn } = await browse({ p13n_sid: anon!, p13n_uid: t });
    expect(signedIn).not.toBe(anon);
    expect(signedIn).toMatch(USER_SID);
    const f = await sessionStub(env, await pseudonymize(env, 's', signedIn!), userKey).features(userKey);
    expect(f.recent.map((r) => r.itemId)).toEqual(['skincare-12', 'skincare-11']);
    // The same signed-in browser keeps its session; after logout it gets a fresh anonymous one.
    expect((await browse({ p13n_sid: signedIn!, p13n_uid: t })).sid).toBe(signedIn);
    const { sid: afterLogout } = await browse({ p13n_sid: signedIn! });
    expect(afterLogout).not.toBe(signedIn);
    expect(afterLogout).toMatch(ANON_SID);
  });

  it("a signed-in caller naming someone else's session merges nothing of theirs (profile, access export)", async () => {
    const { sid: V } = await browse({});
    expect((await beacon({ p13n_sid: V! }, [event('purchase', 'makeup-17', V!, { value: 70 })])).body.accepted).toBe(1);
    const attacker = `merger-${run}`;
    const t = await token(attacker);
    const recs = await asStranger(`/v1/recommendations?slot=home&k=5&session_id=${V}`, { 'x-p13n-user-token': t });
    expect(recs.status).toBe(403);
    const posted = await fetchWorker('/v1/events', {
      method: 'POST',
      headers: publicCaller({ 'content-type': 'application/json', 'x-p13n-user-token': t }),
      body: JSON.stringify({ events: [event('view', 'makeup-1', V!)] }),
    });
    expect(posted.status).toBe(403);
    const doc = (await rightsJob('export', { user_id: attacker })).export;
    expect(doc.events).toEqual([]);
    expect(doc.sessions).toEqual([]);
    expect(doc.profile).toBeNull();
  });

  it("access export and erasure are filtered by the shopper's own key", async () => {
    // A shared session of a storefront backend: someone browses anonymously, then another person signs in.
    const S = `shared-${run}`;
    const before = [event('view', 'fragrance-21', S), event('purchase', 'fragrance-22', S, { value: 15 })];
    await postEvents(before);
    const user = `shared-user-${run}`;
    const mine = [event('view', 'fragrance-23', S, { user_token: await token(user) })];
    await postEvents(mine);
    const doc = (await rightsJob('export', { user_id: user })).export;
    expect(doc.events.map((e: any) => e.event_id)).toEqual([mine[0]!.event_id]);
    const erased = (await rightsJob('erase', { user_id: user })).receipt;
    expect(erased.r2.rows_removed).toBe(1);
    // The anonymous events are someone else's: still there for a request that names the session.
    const anon = (await rightsJob('export', { session_ids: [S] })).export;
    expect(anon.events.map((e: any) => e.event_id).sort()).toEqual(before.map((e) => e.event_id).sort());
  });
});

describe('medium', () => {
  it('browser calls get the opt-in consent default: a session cookie alone stores nothing', async () => {
    const { sid } = await browse({});
    // The consent tool deleted p13n_consent; the session cookie is still there.
    const res = await fetchWorker('/v1/events', {
      method: 'POST',
      headers: publicCaller({ 'content-type': 'application/json', cookie: `p13n_sid=${sid}` }),
      body: JSON.stringify({ events: [event('view', 'makeup-2', sid!)] }),
    });
    expect(await res.json()).toMatchObject({ accepted: 0, consent: 'none', not_stored: 1 });
    const fromPage = await asStranger('/v1/recommendations?slot=home&k=3', { 'sec-fetch-site': 'same-origin' });
    expect(fromPage.headers.get('x-p13n-consent')).toBe('none');
  });

  it('a session object that only served recommendations to a signed-in shopper gets its idle expiry alarm', async () => {
    const session = `recs-only-${run}`;
    const user = `recs-only-user-${run}`;
    const r = await recommendations({ slot: 'home', session_id: session, user_token: await token(user), k: 3 });
    expect(r.headers.get('x-p13n-identity')).toBe('user');
    const stub = sessionStub(env, await pseudonymize(env, 's', session), await pseudonymize(env, 'u', user));
    const dump = (await stub.dump()) as { kv: Record<string, unknown>; alarm_at: number | null } | null;
    expect(dump?.kv.user_key).toBe(await pseudonymize(env, 'u', user));
    expect(dump?.alarm_at).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });
});
