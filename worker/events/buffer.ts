/**
 * The event buffer (SQLite-backed Durable Object): where accepted events wait while the D1 event
 * log is failing. Rows are kept as ingestion built them (pseudonymous keys only, never raw ids)
 * and written to D1 by an alarm, with back-off, until D1 takes them; they leave the buffer only
 * after D1 confirmed the write. D1 ignores an event_id it already holds, so an event stored by a
 * write that timed out but went through, or retried twice, is still stored exactly once.
 */
import { DurableObject } from 'cloudflare:workers';
import type { EventRow } from '../db/schema';
import { d1TimeoutMs, withDeadline } from '../db/deadline';
import { log } from '../ops/log';
import { storeEvents } from './ingest';

/** First retry after this, doubling per failed attempt up to MAX_RETRY_MS. */
const RETRY_MS = 10_000;
const MAX_RETRY_MS = 5 * 60_000;
/** Events written per D1 round (one ingestion batch). */
const DRAIN_BATCH = 500;

export interface BufferStatus {
  pending: number;
  oldest_buffered_at: number | null;
  failed_attempts: number;
  last_error: string | null;
}

export interface DrainResult {
  stored: number;
  duplicates: number;
  pending: number;
  error?: string;
}

export class EventBuffer extends DurableObject<Env> {
  private sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, row TEXT NOT NULL, buffered_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  /** Keep the events (once per event_id) and schedule a retry. Resolves only once they are durable. */
  async hold(rows: EventRow[]): Promise<number> {
    const now = Date.now();
    for (const r of rows) this.sql.exec('INSERT OR IGNORE INTO pending (event_id, row, buffered_at) VALUES (?, ?, ?)', r.eventId, JSON.stringify(r), now);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + this.retryDelay());
    return this.count();
  }

  status(): BufferStatus {
    const oldest = this.sql.exec<{ t: number | null }>('SELECT MIN(buffered_at) AS t FROM pending').one().t;
    return { pending: this.count(), oldest_buffered_at: oldest, failed_attempts: this.failures(), last_error: this.get('last_error') };
  }

  /** Write everything pending to D1, oldest first; stops at the first failure (the rest waits for the next try). */
  async drain(): Promise<DrainResult> {
    const env = { ...this.env, DB: withDeadline(this.env.DB, d1TimeoutMs(this.env)) };
    const out: DrainResult = { stored: 0, duplicates: 0, pending: 0 };
    for (;;) {
      const batch = this.sql.exec<{ seq: number; row: string }>('SELECT seq, row FROM pending ORDER BY seq LIMIT ?', DRAIN_BATCH).toArray();
      if (!batch.length) break;
      try {
        const stored = await storeEvents(env, batch.map((b) => JSON.parse(b.row) as EventRow), (p) => this.ctx.waitUntil(p));
        out.stored += stored;
        out.duplicates += batch.length - stored;
      } catch (e) {
        out.error = (e as Error).message;
        break;
      }
      this.sql.exec('DELETE FROM pending WHERE seq <= ?', batch[batch.length - 1]!.seq);
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

  private static readonly MINE = "json_extract(row, '$.userKey') = ?1 OR json_extract(row, '$.sessionKey') IN (SELECT value FROM json_each(?2))";

  /** The shopper's events waiting here, for the access export. */
  heldFor(userKey: string | null, sessionKeys: string[]): EventRow[] {
    return this.sql
      .exec<{ row: string }>(`SELECT row FROM pending WHERE ${EventBuffer.MINE} ORDER BY seq`, userKey ?? '', JSON.stringify(sessionKeys))
      .toArray()
      .map((r) => JSON.parse(r.row) as EventRow);
  }

  /** Erasure: the shopper's events never reach D1. Returns how many were dropped. */
  erase(userKey: string | null, sessionKeys: string[]): number {
    return this.sql.exec(`DELETE FROM pending WHERE ${EventBuffer.MINE}`, userKey ?? '', JSON.stringify(sessionKeys)).rowsWritten;
  }

  override async alarm(): Promise<void> {
    const r = await this.drain();
    if (r.pending) await this.ctx.storage.setAlarm(Date.now() + this.retryDelay());
  }

  private retryDelay(): number {
    return Math.min(RETRY_MS * 2 ** this.failures(), MAX_RETRY_MS);
  }

  private count(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pending').one().n;
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
