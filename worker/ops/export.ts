/**
 * Event log → R2, then trim D1.
 *
 * exportEvents: every event received in (last done run's watermark, now − settle] is written to
 * the EXPORTS bucket as gzip-compressed NDJSON, one file per event date and part:
 *   exports/events/dt=YYYY-MM-DD/part-<run start ms>-<nnnn>.ndjson.gz
 * (one JSON object per line, the D1 row with its column names). The run is recorded in D1
 * (export_runs) only after every part is stored and read back with the right row count.
 *
 * trimEvents: deletes events older than EVENT_RETENTION_DAYS, but never an event received after
 * the newest completed export — so an event leaves D1 only once it is in R2.
 */
import { and, asc, desc, eq, gt, lte, sql } from 'drizzle-orm';
import { db } from '../db/client';
import { events, exportRuns, type ExportRunRow } from '../db/schema';

type EventSelect = typeof events.$inferSelect;
import { log } from './log';
import { retentionMs } from '../lib/vars';

/** Events received in the last minute may still be arriving out of order; leave them for the next run. */
export const SETTLE_MS = 60_000;
/** Every event-log partition lives under this prefix. */
export const EXPORT_PREFIX = 'exports/events/';
const PAGE = 1000;
const ROWS_PER_PART = 50_000;
const TRIM_CHUNK = 2000;

export const COLUMNS = ['event_id', 'type', 'item_id', 'session_key', 'user_key', 'ts', 'recommendation_id', 'slot', 'value', 'received_at'] as const;
export type ExportedEvent = Record<(typeof COLUMNS)[number], string | number | null>;

/** An event row as it is written to R2 (and returned by the shopper access export). */
export function toExportedEvent(e: EventSelect): ExportedEvent {
  return {
    event_id: e.eventId,
    type: e.type,
    item_id: e.itemId,
    session_key: e.sessionKey,
    user_key: e.userKey ?? null,
    ts: e.ts,
    recommendation_id: e.recommendationId ?? null,
    slot: e.slot ?? null,
    value: e.value ?? null,
    received_at: e.receivedAt,
  };
}

export interface ExportResult {
  run: string;
  rows: number;
  parts: { key: string; rows: number; bytes: number }[];
  from: number;
  to: number;
}

export async function gzip(text: string): Promise<ArrayBuffer> {
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
}

export async function gunzip(body: ReadableStream<Uint8Array> | ArrayBuffer): Promise<string> {
  const stream = body instanceof ArrayBuffer ? new Blob([body]).stream() : body;
  return new Response(stream.pipeThrough(new DecompressionStream('gzip'))).text();
}

/** The watermark: every event received at or before it is in R2. */
export async function exportedThrough(d1: D1Database): Promise<number> {
  const last = await db(d1).select({ to: exportRuns.toReceivedAt }).from(exportRuns).where(eq(exportRuns.status, 'done')).orderBy(desc(exportRuns.toReceivedAt)).limit(1).get();
  return last?.to ?? 0;
}

/**
 * `maxRows` bounds one call (a step of the daily maintenance workflow): it stops at the first
 * received_at after that many rows, and its watermark is the last received_at it wrote in full.
 */
export async function exportEvents(env: Env, now = Date.now(), opts: { settleMs?: number; maxRows?: number; run?: string } = {}): Promise<ExportResult> {
  const d = db(env.DB);
  const from = await exportedThrough(env.DB);
  // Never past the real clock: an event stamped later must not fall under this run's watermark.
  let to = Math.min(now, Date.now()) - (opts.settleMs ?? SETTLE_MS);
  const run = opts.run ?? `${now}`;
  const result: ExportResult = { run, rows: 0, parts: [], from, to };
  if (to <= from) return result;
  await d.insert(exportRuns).values({ id: run, status: 'running', startedAt: Date.now(), fromReceivedAt: from, toReceivedAt: to }).onConflictDoNothing();
  try {
    // Buffer lines per event date; write a part when it reaches ROWS_PER_PART, the rest at the end.
    const open = new Map<string, string[]>();
    const counters = new Map<string, number>();
    const flush = async (dt: string) => {
      const lines = open.get(dt);
      if (!lines?.length) return;
      const n = (counters.get(dt) ?? 0) + 1;
      counters.set(dt, n);
      const key = `${EXPORT_PREFIX}dt=${dt}/part-${run}-${String(n).padStart(4, '0')}.ndjson.gz`;
      const body = await gzip(lines.join('\n') + '\n');
      await env.EXPORTS.put(key, body, {
        httpMetadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
        customMetadata: { rows: String(lines.length), run },
      });
      // Read back: the object must be there with the size we wrote before anything counts as exported.
      const head = await env.EXPORTS.head(key);
      if (!head || head.size !== body.byteLength) throw new Error(`export part ${key} did not read back (${head?.size ?? 'missing'} of ${body.byteLength} bytes)`);
      result.parts.push({ key, rows: lines.length, bytes: body.byteLength });
      open.delete(dt);
    };
    // Keyset pagination over (received_at, event_id): stable even while new events arrive.
    let cursor: { receivedAt: number; eventId: string } | null = null;
    let lastAt = from;
    let full = false;
    while (!full) {
      const page: EventSelect[] = await d
        .select()
        .from(events)
        .where(
          and(
            lte(events.receivedAt, to),
            cursor
              ? sql`(${events.receivedAt}, ${events.eventId}) > (${cursor.receivedAt}, ${cursor.eventId})`
              : gt(events.receivedAt, from),
          ),
        )
        .orderBy(asc(events.receivedAt), asc(events.eventId))
        .limit(PAGE)
        .all();
      for (const e of page) {
        if (e.receivedAt <= from) continue;
        if (opts.maxRows && result.rows >= opts.maxRows && e.receivedAt !== lastAt) {
          full = true;
          to = result.to = lastAt;
          break;
        }
        lastAt = e.receivedAt;
        const dt = new Date(e.ts).toISOString().slice(0, 10);
        const lines = open.get(dt) ?? [];
        lines.push(JSON.stringify(toExportedEvent(e)));
        open.set(dt, lines);
        result.rows++;
        if (lines.length >= ROWS_PER_PART) await flush(dt);
      }
      if (full || page.length < PAGE) break;
      const last: EventSelect = page[page.length - 1]!;
      cursor = { receivedAt: last.receivedAt, eventId: last.eventId };
    }
    for (const dt of [...open.keys()].sort()) await flush(dt);
    await d.update(exportRuns).set({ status: 'done', finishedAt: Date.now(), rows: result.rows, parts: result.parts, toReceivedAt: to }).where(eq(exportRuns.id, run));
    log('info', 'events_exported', { run, rows: result.rows, parts: result.parts.length, from, to });
    return result;
  } catch (e) {
    await d.update(exportRuns).set({ status: 'failed', finishedAt: Date.now(), error: (e as Error).message }).where(eq(exportRuns.id, run));
    log('error', 'events_export_failed', { run, error: (e as Error).message });
    throw e;
  }
}

export interface TrimResult {
  deleted: number;
  cutoff: number;
  exportedThrough: number;
}

/** Legacy D1 event rows past retention and already exported; at most `maxChunks` DELETEs of TRIM_CHUNK rows. */
export async function trimEventRows(env: Env, now: number, maxChunks = Infinity): Promise<{ deleted: number; more: boolean; cutoff: number; exportedThrough: number }> {
  const cutoff = now - retentionMs(env.EVENT_RETENTION_DAYS, 30);
  const through = await exportedThrough(env.DB);
  let deleted = 0;
  for (let n = 1; ; n++) {
    const r = await env.DB.prepare(
      'DELETE FROM events WHERE event_id IN (SELECT event_id FROM events WHERE ts < ?1 AND received_at <= ?2 LIMIT ?3)',
    )
      .bind(cutoff, through, TRIM_CHUNK)
      .run();
    deleted += r.meta.changes ?? 0;
    if ((r.meta.changes ?? 0) < TRIM_CHUNK) return { deleted, more: false, cutoff, exportedThrough: through };
    if (n >= maxChunks) return { deleted, more: true, cutoff, exportedThrough: through };
  }
}

/** Experiment outcome rows past EXPERIMENT_RETENTION_DAYS (one D1 batch). */
export async function trimExperimentRows(env: Env, now: number): Promise<number> {
  // Experiment outcomes hold pseudonymous unit keys too; reports need them longer than raw events.
  const expCutoff = now - retentionMs(env.EXPERIMENT_RETENTION_DAYS, 180);
  const [served] = await env.DB.batch([
    env.DB.prepare('DELETE FROM rec_served WHERE served_at < ?').bind(expCutoff),
    env.DB.prepare('DELETE FROM rec_purchases WHERE ts < ?').bind(expCutoff),
    // Per-message CTR counts (worker/events/rec-ctr.ts) age out with the outcomes.
    env.DB.prepare('DELETE FROM rec_ctr WHERE received_at < ?').bind(expCutoff),
    env.DB.prepare('DELETE FROM canary_ctr WHERE rollout_id IN (SELECT id FROM model_rollouts WHERE status <> ? AND decided_at < ?)').bind('running', expCutoff),
  ]);
  return served?.meta.changes ?? 0;
}

export async function trimEvents(env: Env, now = Date.now()): Promise<TrimResult> {
  const { deleted, cutoff, exportedThrough: through } = await trimEventRows(env, now);
  const experimentRows = await trimExperimentRows(env, now);
  log('info', 'events_trimmed', { deleted, cutoff, exported_through: through, experiment_rows_deleted: experimentRows });
  return { deleted, cutoff, exportedThrough: through };
}

export async function lastExportRuns(d1: D1Database, limit = 5): Promise<ExportRunRow[]> {
  return db(d1).select().from(exportRuns).orderBy(desc(exportRuns.startedAt)).limit(limit).all();
}
