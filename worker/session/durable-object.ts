/**
 * One Durable Object per (session, shopper) (SQLite-backed; named in worker/session/client.ts):
 * a session's anonymous state and each signed-in shopper's state in it are separate objects. It
 * keeps the real-time features, bounded in size, and a cached copy of the shopper's long-term
 * profile. Profile changes are queued in an outbox and written to D1 in one batch on an
 * alarm, never once per event. Every object that stores anything has an alarm, so it is
 * deleted once idle for SESSION_RETENTION_DAYS.
 */
import { DurableObject } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { db, runBatch } from '../db/client';
import { profiles, type Profile } from '../db/schema';
import { linkStatement } from '../privacy/session-index';
import { parseSessionObjectName, sessionStub } from './client';
import { applyEvents, emptyProfile, EVENT_STRENGTH, LIMITS, type ProfileData, type SessionEvent } from './profile';
import { retentionMs } from '../lib/vars';

/** Touches (click / add-to-cart on a recommendation) kept for last-touch attribution. */
const TOUCHES = 50;

export interface SessionFeatures {
  /** Newest first. */
  recent: { itemId: string; type: string; ts: number }[];
  /** Session attribute weights ("category:x" -> weight). */
  attrs: Record<string, number>;
  cart: string[];
  /** Bought in this session or ever (from the profile). */
  purchased: string[];
  profile: ProfileData | null;
  lastActivity: number | null;
}

/** What a session object holds, as the access export shows it. */
export type SessionDump = {
  recent: { item_id: string; type: string; ts: number }[];
  attrs: Record<string, number>;
  cart: { item_id: string; added_at: number }[];
  purchased: { item_id: string; ts: number }[];
  /** last activity, the cached profile and whose it is */
  kv: Record<string, unknown>;
  /** profile changes not yet written to D1 */
  pending_profile_events: { user_key: string; event: SessionEvent }[];
  /** events from before the shopper logged in, waiting to join their profile */
  anonymous_events: SessionEvent[];
  alarm_at: number | null;
};

/** One queue message's events for this session (worker/events/message.ts). */
export interface ClaimBatch {
  claim: string;
  events: SessionEvent[];
}

/** What a claim holds: the event ids it stores in the log, and purchases' last-touch recommendations. */
export interface ClaimResult {
  stored: string[];
  /** purchase event id -> recommendation id of this session's latest click / add-to-cart of the item */
  touches: Record<string, string>;
}

export interface SessionErasure {
  rows: number;
  pending_profile_events: number;
  alarm_cleared: boolean;
}

/** A session before its first event. */
export function emptyFeatures(): SessionFeatures {
  return { recent: [], attrs: {}, cart: [], purchased: [], profile: null, lastActivity: null };
}

const PROFILE_TTL_MS = 10 * 60_000;

export class SessionState extends DurableObject<Env> {
  private sql: SqlStorage;

  /** Tables exist once this instance created them (lazily, so an erased object stays empty). */
  private ready = false;
  /** The profile flush in progress, which erasure waits for. */
  private flushing: Promise<number> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // Reading a session that never received an event (most first page views, every bot) must
    // not create its storage: tables are created on the first write (schema()), not here.
    this.ready = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seen'").toArray().length > 0;
  }

  private schema(): void {
    if (this.ready) return;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS recent (seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS attrs (attr TEXT PRIMARY KEY, weight REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS cart (item_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS purchased (item_id TEXT PRIMARY KEY, ts INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_key TEXT NOT NULL, event TEXT NOT NULL);
    `);
    // Anonymous events of this session, kept (bounded) until the shopper logs in: then they
    // join the user's profile (mergeAtLogin).
    this.sql.exec('CREATE TABLE IF NOT EXISTS anonymous (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)');
    // Dedupe state (claim()) and the recommendation touches last-touch attribution reads.
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY, claim TEXT NOT NULL, at INTEGER NOT NULL, rec TEXT);
      CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
      CREATE TABLE IF NOT EXISTS touches (seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, rec TEXT NOT NULL, ts INTEGER NOT NULL);
    `);
    this.ready = true;
  }

  /**
   * Login: the anonymous history of `fromSessionKey` (its own object) joins this signed-in
   * object's features and the user's profile (through the outbox). Callers decide who may merge
   * what: the proxy at login, from the browser's previous anonymous session (worker/session/
   * merge.ts), and mergeOwnAnonymous below, once, from this object's own session id.
   */
  async mergeAnonymous(userKey: string, fromSessionKey: string): Promise<number> {
    this.schema();
    const events = await sessionStub(this.env, fromSessionKey, null).takeAnonymous();
    if (!events.length) return 0;
    await this.ingest(events, userKey);
    // A cached profile no longer includes everything: read it again (with the outbox) next time.
    this.sql.exec("DELETE FROM kv WHERE key IN ('profile', 'profile_at')");
    return events.length;
  }

  /**
   * The first signed-in use of this (session, user) object takes the same session's anonymous
   * history. Only a storefront backend (server key) can use one session id both anonymously and
   * signed in: a public caller's session is issued to one identity (worker/identity/session-id.ts).
   */
  private async mergeOwnAnonymous(userKey: string): Promise<void> {
    if (this.kvGet<boolean>('anonymous_merged')) return;
    this.kvPut('anonymous_merged', true);
    const { sessionKey, userKey: owner } = parseSessionObjectName(this.ctx.id.name ?? '');
    if (sessionKey && owner === userKey) await this.mergeAnonymous(userKey, sessionKey);
  }

  /** An anonymous object hands its history over at login, once (it is deleted here). */
  async takeAnonymous(): Promise<SessionEvent[]> {
    if (!this.ready) return [];
    const rows = this.sql.exec<{ event: string }>('SELECT event FROM anonymous ORDER BY seq').toArray();
    this.sql.exec('DELETE FROM anonymous');
    return rows.map((r) => JSON.parse(r.event) as SessionEvent);
  }

  /** One alarm serves both jobs: the profile flush, and deleting the session once it is idle. */
  private async scheduleFlush(): Promise<void> {
    const at = Date.now() + Number(this.env.PROFILE_FLUSH_MS ?? 30_000);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** After the last flush: forget the session when idle for SESSION_RETENTION_DAYS, else check again then. */
  private async expireOrWait(): Promise<void> {
    const pending = this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox').one().n;
    if (pending) return this.scheduleFlush();
    const touched = this.kvGet<number>('touched_at') ?? 0;
    const expiresAt = touched + retentionMs(this.env.SESSION_RETENTION_DAYS, 30);
    if (Date.now() >= expiresAt) {
      await this.ctx.storage.deleteAll();
      this.ready = false;
    } else await this.ctx.storage.setAlarm(expiresAt);
  }

  private kvGet<T>(key: string): T | null {
    const row = this.sql.exec<{ value: string }>('SELECT value FROM kv WHERE key = ?', key).toArray()[0];
    return row ? (JSON.parse(row.value) as T) : null;
  }

  private kvPut(key: string, value: unknown): void {
    this.sql.exec('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, JSON.stringify(value));
  }

  /**
   * Exactly-once per event_id in this session (docs/reliability.md): the first claim (queue
   * message) to present an event_id owns it for EVENT_DEDUPE_DAYS. Presenting the same claim
   * again (a redelivery, or the consumer after the inline call) returns the same ids and changes
   * nothing; another claim with the same id (a retried request) gets nothing. Events new here
   * are applied to the session's features in one pass.
   */
  async claim(batches: ClaimBatch[], userKey: string | null): Promise<Record<string, ClaimResult>> {
    this.schema();
    const now = Date.now();
    this.sql.exec('DELETE FROM seen WHERE at < ?', now - retentionMs(this.env.EVENT_DEDUPE_DAYS, 7));
    const fresh: SessionEvent[] = [];
    const out: Record<string, ClaimResult> = {};
    for (const b of batches) {
      const r: ClaimResult = (out[b.claim] ??= { stored: [], touches: {} });
      for (const ev of [...b.events].sort((x, y) => x.ts - y.ts)) {
        const prior = this.sql.exec<{ claim: string; rec: string | null }>('SELECT claim, rec FROM seen WHERE event_id = ?', ev.eventId).toArray()[0];
        if (prior) {
          if (prior.claim !== b.claim || r.stored.includes(ev.eventId)) continue;
          r.stored.push(ev.eventId);
          if (prior.rec) r.touches[ev.eventId] = prior.rec;
          continue;
        }
        const rec = ev.type === 'purchase' && !ev.recommendationId ? this.lastTouch(ev) : null;
        this.sql.exec('INSERT INTO seen (event_id, claim, at, rec) VALUES (?, ?, ?, ?)', ev.eventId, b.claim, now, rec);
        if (ev.recommendationId && (ev.type === 'click' || ev.type === 'add_to_cart')) {
          this.sql.exec('INSERT INTO touches (item_id, rec, ts) VALUES (?, ?, ?)', ev.itemId, ev.recommendationId, ev.ts);
          this.sql.exec('DELETE FROM touches WHERE seq <= (SELECT MAX(seq) FROM touches) - ?', TOUCHES);
        }
        r.stored.push(ev.eventId);
        if (rec) r.touches[ev.eventId] = rec;
        fresh.push(ev);
      }
    }
    if (fresh.length) await this.ingest(fresh, userKey);
    return out;
  }

  private lastTouch(ev: SessionEvent): string | null {
    return this.sql.exec<{ rec: string }>('SELECT rec FROM touches WHERE item_id = ? AND ts <= ? ORDER BY ts DESC, seq DESC LIMIT 1', ev.itemId, ev.ts).toArray()[0]?.rec ?? null;
  }

  /** Apply new (already de-duplicated) events, oldest first. */
  private async ingest(events: SessionEvent[], userKey: string | null): Promise<void> {
    this.schema();
    if (userKey) await this.mergeOwnAnonymous(userKey);
    const sorted = [...events].sort((a, b) => a.ts - b.ts);
    let last = this.kvGet<number>('last_activity') ?? 0;
    for (const ev of sorted) {
      const w = EVENT_STRENGTH[ev.type];
      if (w === 0) continue; // impressions carry no preference
      this.sql.exec('INSERT INTO recent (item_id, type, ts) VALUES (?, ?, ?)', ev.itemId, ev.type, ev.ts);
      for (const a of ev.attrs) {
        this.sql.exec('INSERT INTO attrs (attr, weight) VALUES (?, ?) ON CONFLICT(attr) DO UPDATE SET weight = weight + excluded.weight', a, w);
      }
      if (ev.type === 'add_to_cart') this.sql.exec('INSERT OR REPLACE INTO cart (item_id, added_at) VALUES (?, ?)', ev.itemId, ev.ts);
      if (ev.type === 'purchase') {
        this.sql.exec('INSERT OR REPLACE INTO purchased (item_id, ts) VALUES (?, ?)', ev.itemId, ev.ts);
        this.sql.exec('DELETE FROM cart WHERE item_id = ?', ev.itemId);
      }
      if (userKey) this.sql.exec('INSERT INTO outbox (user_key, event) VALUES (?, ?)', userKey, JSON.stringify(ev));
      else this.sql.exec('INSERT INTO anonymous (event) VALUES (?)', JSON.stringify(ev));
      last = Math.max(last, ev.ts);
    }
    // Bounded state: keep the newest rows only.
    this.sql.exec('DELETE FROM recent WHERE seq <= (SELECT MAX(seq) FROM recent) - ?', LIMITS.recent);
    this.sql.exec('DELETE FROM attrs WHERE attr NOT IN (SELECT attr FROM attrs ORDER BY weight DESC LIMIT ?)', LIMITS.attrs);
    this.sql.exec('DELETE FROM purchased WHERE item_id NOT IN (SELECT item_id FROM purchased ORDER BY ts DESC LIMIT ?)', LIMITS.purchases);
    this.sql.exec('DELETE FROM cart WHERE item_id NOT IN (SELECT item_id FROM cart ORDER BY added_at DESC LIMIT ?)', LIMITS.recent);
    this.sql.exec('DELETE FROM anonymous WHERE seq <= (SELECT MAX(seq) FROM anonymous) - ?', LIMITS.recent);
    this.kvPut('last_activity', last);
    this.kvPut('touched_at', Date.now());
    if (userKey) {
      const cached = this.kvGet<ProfileData>('profile');
      if (cached && this.kvGet<string>('user_key') === userKey) this.kvPut('profile', applyEvents(cached, sorted));
      await this.scheduleFlush();
    } else if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + retentionMs(this.env.SESSION_RETENTION_DAYS, 30));
    }
  }

  async features(userKey: string | null): Promise<SessionFeatures> {
    if (!this.ready && !userKey) return emptyFeatures();
    this.schema(); // a signed-in shopper's profile is cached here
    if (userKey) await this.mergeOwnAnonymous(userKey);
    const recent = this.sql
      .exec<{ item_id: string; type: string; ts: number }>('SELECT item_id, type, ts FROM recent ORDER BY seq DESC')
      .toArray()
      .map((r) => ({ itemId: r.item_id, type: r.type, ts: r.ts }));
    const attrs = Object.fromEntries(this.sql.exec<{ attr: string; weight: number }>('SELECT attr, weight FROM attrs').toArray().map((r) => [r.attr, r.weight]));
    const cart = this.sql.exec<{ item_id: string }>('SELECT item_id FROM cart ORDER BY added_at DESC').toArray().map((r) => r.item_id);
    const bought = this.sql.exec<{ item_id: string }>('SELECT item_id FROM purchased').toArray().map((r) => r.item_id);
    const profile = userKey ? await this.profile(userKey) : null;
    return {
      recent,
      attrs,
      cart,
      purchased: profile ? [...new Set([...bought, ...profile.purchases])] : bought,
      profile,
      lastActivity: this.kvGet<number>('last_activity'),
    };
  }

  /** The shopper's long-term profile: cached here, read from D1 when missing or old. */
  private async profile(userKey: string): Promise<ProfileData> {
    const cachedAt = this.kvGet<number>('profile_at') ?? 0;
    if (this.kvGet<string>('user_key') === userKey && Date.now() - cachedAt < PROFILE_TTL_MS) {
      const cached = this.kvGet<ProfileData>('profile');
      if (cached) return cached;
    }
    const d = db(this.env.DB);
    // This session now holds the user's profile: the user → session index must know (erasure finds it there).
    const { sessionKey } = parseSessionObjectName(this.ctx.id.name ?? '');
    const link = sessionKey ? [linkStatement(d, [{ userKey, sessionKey, firstSeen: Date.now() }])] : [];
    const [rows] = (await runBatch(d, [d.select().from(profiles).where(eq(profiles.userKey, userKey)).limit(1), ...link])) as [Profile[]];
    let p: ProfileData = rows[0] ?? emptyProfile(Date.now());
    // Events still waiting in the outbox are part of what we know.
    const pending = this.pendingFor(userKey);
    if (pending.length) p = applyEvents(p, pending);
    this.kvPut('user_key', userKey);
    this.kvPut('profile', p);
    this.kvPut('profile_at', Date.now());
    // A cached profile is state too: it expires with the object when idle (alarm), like events.
    this.kvPut('touched_at', Date.now());
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + retentionMs(this.env.SESSION_RETENTION_DAYS, 30));
    return p;
  }

  private pendingFor(userKey: string): SessionEvent[] {
    return this.sql
      .exec<{ event: string }>('SELECT event FROM outbox WHERE user_key = ? ORDER BY seq', userKey)
      .toArray()
      .map((r) => JSON.parse(r.event) as SessionEvent);
  }

  /** Write queued profile changes to D1 in one batch. Rows leave the outbox only after D1 accepted them. */
  async flush(): Promise<number> {
    this.schema();
    const run = this.flushOutbox();
    this.flushing = run;
    try {
      return await run;
    } finally {
      if (this.flushing === run) this.flushing = null;
    }
  }

  private async flushOutbox(): Promise<number> {
    const maxSeq = this.sql.exec<{ m: number | null }>('SELECT MAX(seq) AS m FROM outbox').one().m;
    if (maxSeq === null) return 0;
    const users = this.sql.exec<{ user_key: string }>('SELECT DISTINCT user_key FROM outbox WHERE seq <= ?', maxSeq).toArray();
    const d = db(this.env.DB);
    const now = Date.now();
    const writes = [];
    for (const { user_key } of users) {
      const evs = this.sql
        .exec<{ event: string }>('SELECT event FROM outbox WHERE user_key = ? AND seq <= ? ORDER BY seq', user_key, maxSeq)
        .toArray()
        .map((r) => JSON.parse(r.event) as SessionEvent);
      const row = await d.select().from(profiles).where(eq(profiles.userKey, user_key)).get();
      const next = applyEvents(row ?? emptyProfile(evs[0]?.ts ?? now), evs);
      writes.push(
        d
          .insert(profiles)
          .values({ userKey: user_key, ...next, updatedAt: now })
          .onConflictDoUpdate({ target: profiles.userKey, set: { ...next, updatedAt: now } }),
      );
    }
    await runBatch(d, writes);
    this.sql.exec('DELETE FROM outbox WHERE seq <= ?', maxSeq);
    return users.length;
  }

  override async alarm(): Promise<void> {
    try {
      await this.flush();
    } catch (e) {
      // D1 unavailable: keep the outbox and try again later; nothing is dropped.
      console.error(JSON.stringify({ level: 'error', msg: 'profile_flush_failed', error: (e as Error).message }));
      await this.ctx.storage.setAlarm(Date.now() + 60_000);
      return;
    }
    await this.expireOrWait();
  }

  // ---- shopper rights (worker/privacy/) ----

  /** Right of access: everything this object holds, read-only (null when it holds nothing). */
  async dump(): Promise<SessionDump | null> {
    const tables = this.existingTables();
    const rows = <T>(table: string, q: string) => (tables.has(table) ? this.sql.exec<T & Record<string, SqlStorageValue>>(q).toArray() : []);
    const dump: SessionDump = {
      recent: rows<{ item_id: string; type: string; ts: number }>('recent', 'SELECT item_id, type, ts FROM recent ORDER BY seq DESC'),
      attrs: Object.fromEntries(rows<{ attr: string; weight: number }>('attrs', 'SELECT attr, weight FROM attrs').map((r) => [r.attr, r.weight])),
      cart: rows<{ item_id: string; added_at: number }>('cart', 'SELECT item_id, added_at FROM cart ORDER BY added_at DESC'),
      purchased: rows<{ item_id: string; ts: number }>('purchased', 'SELECT item_id, ts FROM purchased ORDER BY ts DESC'),
      kv: Object.fromEntries(rows<{ key: string; value: string }>('kv', 'SELECT key, value FROM kv').map((r) => [r.key, JSON.parse(r.value) as unknown])),
      pending_profile_events: rows<{ user_key: string; event: string }>('outbox', 'SELECT user_key, event FROM outbox ORDER BY seq').map((r) => ({
        user_key: r.user_key,
        event: JSON.parse(r.event) as SessionEvent,
      })),
      anonymous_events: rows<{ event: string }>('anonymous', 'SELECT event FROM anonymous ORDER BY seq').map((r) => JSON.parse(r.event) as SessionEvent),
      alarm_at: await this.ctx.storage.getAlarm(),
    };
    const empty = !dump.recent.length && !Object.keys(dump.attrs).length && !dump.cart.length && !dump.purchased.length && !Object.keys(dump.kv).length && !dump.pending_profile_events.length && !dump.anonymous_events.length;
    return empty && dump.alarm_at === null ? null : dump;
  }

  /**
   * Right to erasure: wait for a profile flush in progress, then delete every row and table and
   * the pending alarm, so no queued profile change can re-create the profile afterwards.
   */
  async erase(): Promise<SessionErasure> {
    await this.flushing?.catch(() => 0);
    const tables = this.existingTables();
    let rows = 0;
    let pending = 0;
    for (const t of tables) {
      const n = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`).one().n;
      rows += n;
      if (t === 'outbox') pending = n;
    }
    const alarm = await this.ctx.storage.getAlarm();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.ready = false;
    return { rows, pending_profile_events: pending, alarm_cleared: alarm !== null };
  }

  private existingTables(): Set<string> {
    const ours = ['recent', 'attrs', 'cart', 'purchased', 'kv', 'outbox', 'anonymous', 'seen', 'touches'];
    const found = this.sql.exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`).toArray();
    return new Set(found.map((r) => r.name).filter((n) => ours.includes(n)));
  }
}
