/**
 * The event buffer (SQLite-backed Durable Object): where accepted events wait while the events
 * queue refuses sends. It keeps whole queue messages (pseudonymous keys only, never raw ids) and
 * sends them to the queue from an alarm, with back-off; a message leaves the buffer only after the
 * queue took it. A message keeps its claim id, so sending it twice (a send that failed late) still
 * stores its events once: the consumer's session objects dedupe by claim (docs/reliability.md).
 */
import { DurableObject } from 'cloudflare:workers';
import type { EventRow } from '../db/schema';
import { log } from '../ops/log';
import { enqueue, toMessages, type EventMessage } from './message';

/** First retry after this, doubling per failed attempt up to MAX_RETRY_MS. */
const RETRY_MS = 10_000;
const MAX_RETRY_MS = 5 * 60_000;
/** Messages sent per queue round. */
const DRAIN_BATCH = 100;

export interface BufferStatus {
  pending: number;
  oldest_buffered_at: number | null;
  failed_attempts: number;
  last_error: string | null;
}

export interface DrainResult {
  /** events handed to the queue */
  stored: number;
  duplicates: number;
  /** events still waiting */
  pending: number;
  error?: string;
}

export class EventBuffer extends DurableObject<Env> {
  private sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, claim TEXT NOT NULL UNIQUE, body TEXT NOT NULL, rows INTEGER NOT NULL, buffered_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.migrateLegacy();
  }

  /** Rows buffered for the old D1 log (table `pending`) become queue messages. */
  private migrateLegacy(): void {
    const legacy = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pending'").toArray().length > 0;
    if (!legacy) return;
    const rows = this.sql.exec<{ row: string; buffered_at: number }>('SELECT row, buffered_at FROM pending ORDER BY seq').toArray();
    if (rows.length) this.keep(toMessages(rows.map((r) => JSON.parse(r.row) as EventRow), rows[0]!.buffered_at), Date.now());
    this.sql.exec('DROP TABLE pending');
  }

  private keep(messages: EventMessage[], now: number): void {
    for (const m of messages) this.sql.exec('INSERT OR IGNORE INTO messages (claim, body, rows, buffered_at) VALUES (?, ?, ?, ?)', m.claim, JSON.stringify(m), m.rows.length, now);
  }

  /** Keep the messages (once per claim) and schedule a retry. Resolves only once they are durable. */
  async hold(messages: EventMessage[]): Promise<number> {
    const now = Date.now();
    this.keep(messages, now);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + this.retryDelay());
    return this.count();
  }

  status(): BufferStatus {
    const oldest = this.sql.exec<{ t: number | null }>('SELECT MIN(buffered_at) AS t FROM messages').one().t;
    return { pending: this.count(), oldest_buffered_at: oldest, failed_attempts: this.failures(), last_error: this.get('last_error') };
  }

  /** Send everything pending to the queue, oldest first; stops at the first failure (the rest waits for the next try). */
  async drain(): Promise<DrainResult> {
    const out: DrainResult = { stored: 0, duplicates: 0, pending: 0 };
    for (;;) {
      const batch = this.sql.exec<{ seq: number; body: string; rows: number }>('SELECT seq, body, rows FROM messages ORDER BY seq LIMIT ?', DRAIN_BATCH).toArray();
      if (!batch.length) break;
      try {
        await enqueue(this.env.EVENTS_QUEUE, batch.map((b) => JSON.parse(b.body) as EventMessage));
      } catch (e) {
        out.error = (e as Error).message;
        break;
      }
      out.stored += batch.reduce((n, b) => n + b.rows, 0);
      this.sql.exec('DELETE FROM messages WHERE seq <= ?', batch[batch.length - 1]!.seq);
    }
    out.pending = this.count();
    if (out.error) {
      this.put('failures', String(this.failures() + 1));
      this.put('last_error', out.error);
    } else {
      this.sql.exec("DELETE FROM state WHERE key IN ('failures', 'last_error')");
    }
    if (out.stored || out.error) log(out.error ? 'warn' : 'info', 'event_buffer_drain', { ...out });
    return out;
  }

  // ---- shopper rights (worker/privacy/): buffered events are the shopper's data too ----

  private static mine(r: EventRow, userKey: string | null, sessionKeys: Set<string>): boolean {
    return (userKey !== null && r.userKey === userKey) || sessionKeys.has(r.sessionKey);
  }

  private all(): { seq: number; message: EventMessage }[] {
    return this.sql
      .exec<{ seq: number; body: string }>('SELECT seq, body FROM messages ORDER BY seq')
      .toArray()
      .map((r) => ({ seq: r.seq, message: JSON.parse(r.body) as EventMessage }));
  }

  /** The shopper's events waiting here, for the access export. */
  heldFor(userKey: string | null, sessionKeys: string[]): EventRow[] {
    const keys = new Set(sessionKeys);
    return this.all().flatMap((m) => m.message.rows.filter((r) => EventBuffer.mine(r, userKey, keys)));
  }

  /** Erasure: the shopper's events never reach the queue. Returns how many were dropped. */
  erase(userKey: string | null, sessionKeys: string[]): number {
    const keys = new Set(sessionKeys);
    let dropped = 0;
    for (const { seq, message } of this.all()) {
      const keep = message.rows.filter((r) => !EventBuffer.mine(r, userKey, keys));
      if (keep.length === message.rows.length) continue;
      dropped += message.rows.length - keep.length;
      if (!keep.length) this.sql.exec('DELETE FROM messages WHERE seq = ?', seq);
      else this.sql.exec('UPDATE messages SET body = ?, rows = ? WHERE seq = ?', JSON.stringify({ ...message, rows: keep }), keep.length, seq);
    }
    return dropped;
  }

  override async alarm(): Promise<void> {
    const r = await this.drain();
    if (r.pending) await this.ctx.storage.setAlarm(Date.now() + this.retryDelay());
  }

  private retryDelay(): number {
    return Math.min(RETRY_MS * 2 ** this.failures(), MAX_RETRY_MS);
  }

  private count(): number {
    return this.sql.exec<{ n: number | null }>('SELECT SUM(rows) AS n FROM messages').one().n ?? 0;
  }

  private failures(): number {
    return Number(this.get('failures') ?? 0);
  }

  private get(key: string): string | null {
    return this.sql.exec<{ value: string }>('SELECT value FROM state WHERE key = ?', key).toArray()[0]?.value ?? null;
  }

  private put(key: string, value: string): void {
    this.sql.exec('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, value);
  }
}
