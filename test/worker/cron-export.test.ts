/**
 * The daily cron job over the legacy D1 event log (migration period, docs/operations.md): export
 * what an older deployment left in D1 to R2 as gzip NDJSON partitions, then trim D1 by retention —
 * nothing leaves D1 before it is in R2, and what is in R2 is exactly what D1 had. New events never
 * reach D1 (the queue consumer writes the R2 log), so these rows are inserted as that deployment did.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../../worker/db/schema';
import { trimEventLog } from '../../worker/events/log-retention';
import { LOG_PREFIX, readLogObject, writeLogObject } from '../../worker/events/log-store';
import { exportEvents, trimEvents } from '../../worker/ops/export';
import { pseudonymize } from '../../worker/identity/pseudonym';
import { seedCatalog, fixtureCatalog } from './helpers';
import { admin, runDailyMaintenance } from './ops-helpers';

const DAY = 86_400_000;
const N = 3000;
const now = Date.now();
const items = fixtureCatalog();
const TYPES = ['view', 'view', 'click', 'add_to_cart', 'purchase', 'impression'] as const;

function makeEvents(n: number, prefix: string, maxAgeDays: number) {
  return Array.from({ length: n }, (_, i) => {
    const type = TYPES[i % TYPES.length]!;
    return {
      event_id: `${prefix}-${i}`,
      type,
      item_id: items[i % items.length]!.item_id,
      session_id: `sess-${i % 40}`,
      ...(i % 3 === 0 ? { user_id: `user-${i % 25}` } : {}),
      timestamp: now - Math.floor(((i * 7919) % (maxAgeDays * 1000)) * (DAY / 1000)) - 1000,
      ...(type === 'impression' || type === 'click' ? { recommendation_id: `rec-${i % 97}`, slot: 'home' } : {}),
      ...(type === 'purchase' ? { value: (i % 50) + 0.25 } : {}),
    };
  });
}

async function d1Events(): Promise<Record<string, unknown>[]> {
  const { results } = await env.DB.prepare('SELECT * FROM events ORDER BY event_id').all();
  return results;
}

async function readExport(): Promise<{ key: string; rows: Record<string, unknown>[] }[]> {
  const out: { key: string; rows: Record<string, unknown>[] }[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.EXPORTS.list({ prefix: 'exports/events/', cursor });
    for (const o of page.objects) {
      const obj = await env.EXPORTS.get(o.key);
      const text = await new Response(obj!.body.pipeThrough(new DecompressionStream('gzip'))).text();
      out.push({ key: o.key, rows: text.trimEnd().split('\n').map((l) => JSON.parse(l)) });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.event_id).localeCompare(String(b.event_id));

/** Write events into the legacy D1 `events` table, as the pre-queue ingestion did. */
async function insertLegacy(evs: ReturnType<typeof makeEvents>): Promise<void> {
  const stmt = env.DB.prepare(
    'INSERT INTO events (event_id, type, item_id, session_key, user_key, ts, recommendation_id, slot, value, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const rows = await Promise.all(
    evs.map(async (e) => {
      const o = e as Record<string, unknown>;
      return stmt.bind(
        e.event_id, e.type, e.item_id, await pseudonymize(env, 's', e.session_id),
        o.user_id ? await pseudonymize(env, 'u', String(o.user_id)) : null,
        e.timestamp, (o.recommendation_id as string) ?? null, (o.slot as string) ?? null, (o.value as number) ?? null, Date.now(),
      );
    }),
  );
  for (let i = 0; i < rows.length; i += 500) await env.DB.batch(rows.slice(i, i + 500));
}

beforeAll(async () => {
  await seedCatalog(items);
  await insertLegacy(makeEvents(N, 'ev', 45));
});

describe('event export and retention', () => {
  it(`exports ${N} events to R2 as gzip NDJSON partitions that read back identical to D1, before anything is trimmed`, async () => {
    const before = await d1Events();
    expect(before).toHaveLength(N);

    // No settle window here (the events were just posted; in production the job leaves the last minute for the next run).
    const result = await exportEvents(env, Date.now(), { settleMs: 0 });
    expect(result.rows).toBe(N);

    const parts = await readExport();
    expect(parts.length).toBeGreaterThan(40); // one partition per event date over 45 days
    for (const p of parts) {
      expect(p.key).toMatch(/^exports\/events\/dt=\d{4}-\d{2}-\d{2}\/part-\d+-\d{4}\.ndjson\.gz$/);
      const dt = /dt=([\d-]+)/.exec(p.key)![1];
      for (const row of p.rows) expect(new Date(row.ts as number).toISOString().slice(0, 10)).toBe(dt);
    }
    const exported = parts.flatMap((p) => p.rows).sort(byId);
    // Row by row, column by column: what R2 holds is what D1 holds (nothing lost, nothing changed).
    expect(exported).toHaveLength(N);
    expect(exported).toEqual([...before].sort(byId));
    expect(exported.filter((r) => r.type === 'purchase').every((r) => typeof r.value === 'number')).toBe(true);
    expect(exported.filter((r) => r.type === 'click').every((r) => r.recommendation_id && r.slot === 'home')).toBe(true);
    expect(exported.every((r) => !String(r.session_key).startsWith('sess-'))).toBe(true); // pseudonymous keys only

    // D1 is untouched by the export itself.
    expect(await d1Events()).toEqual(before);
    const runs = (await admin('/v1/admin/exports')).body.runs;
    expect(runs[0]).toMatchObject({ status: 'done', rows: N });
  });

  it('the daily cron job then trims D1 to the retention window in workflow steps, and every trimmed event is in R2', async () => {
    const before = await d1Events();
    const at = Date.now();
    const out = await runDailyMaintenance(at);
    expect(out.trimmed).toMatchObject({ events: expect.any(Number), steps: 1 });
    expect(out.trimmed.events).toBeGreaterThan(0);
    const after = await d1Events();
    const cutoff = at - Number(env.EVENT_RETENTION_DAYS) * DAY;
    expect(after.length).toBeGreaterThan(0);
    expect(after.length).toBeLessThan(before.length);
    expect(after.every((r) => (r.ts as number) >= cutoff)).toBe(true);
    expect(after).toEqual(before.filter((r) => (r.ts as number) >= cutoff));

    const inR2 = new Map((await readExport()).flatMap((p) => p.rows).map((r) => [r.event_id, r]));
    const trimmed = before.filter((r) => (r.ts as number) < cutoff);
    expect(trimmed.length).toBe(before.length - after.length);
    for (const r of trimmed) expect(inR2.get(r.event_id)).toEqual(r);
  });

  it('never trims an old event that has not been exported yet', async () => {
    const late = makeEvents(20, 'late', 45).map((e) => ({ ...e, timestamp: now - 40 * DAY }));
    await new Promise((r) => setTimeout(r, 5)); // received after the last export's watermark
    await insertLegacy(late);
    const r = await trimEvents(env, Date.now());
    expect(r.deleted).toBe(0);
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE event_id LIKE 'late-%'").all<{ n: number }>();
    expect(results[0]!.n).toBe(20);
    // The next export picks them up; only then may they go.
    const exp = await exportEvents(env, Date.now(), { settleMs: 0 });
    expect(exp.rows).toBe(20);
    expect((await trimEvents(env, Date.now())).deleted).toBe(20);
  });
});

describe('profile compaction', () => {
  it('deletes idle profiles and drops decayed affinities, keeping the rest', async () => {
    const t = Date.now();
    const ins = (key: string, lastSeen: number, affinities: Record<string, number>) =>
      env.DB.prepare('INSERT INTO profiles (user_key, affinities, recent_items, purchases, event_count, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)')
        .bind(key, JSON.stringify(affinities), '["a"]', '[]', lastSeen, lastSeen, lastSeen)
        .run();
    await ins('u_idle', t - 500 * DAY, { 'category:skincare': 3 });
    await ins('u_active', t - DAY, { 'category:skincare': 2.5, 'brand:x': 0.001, 'tag:vegan': -0.004 });
    // Another day's instance (the trim test above ran today's).
    const out = await runDailyMaintenance(t + DAY);
    expect(out.compacted).toMatchObject({ deleted: 1, compacted: 1 });
    const { results } = await env.DB.prepare('SELECT user_key, affinities FROM profiles ORDER BY user_key').all<{ user_key: string; affinities: string }>();
    expect(results.map((r) => r.user_key)).toEqual(['u_active']);
    expect(JSON.parse(results[0]!.affinities)).toEqual({ 'category:skincare': 2.5 });
  });
});

describe('R2 event log retention', () => {
  const HOUR = 3_600_000;
  const rowAt = (id: string, at: number): EventRow => ({ eventId: id, type: 'view', itemId: items[0]!.item_id, sessionKey: 's_retention', userKey: null, ts: at, recommendationId: null, slot: null, value: null, receivedAt: at });
  const logKeys = async () => (await env.EXPORTS.list({ prefix: LOG_PREFIX })).objects.map((o) => o.key).sort();
  const manifestKeys = async () => (await env.DB.prepare("SELECT key FROM event_log_objects WHERE key LIKE 'events/%' ORDER BY key").all<{ key: string }>()).results.map((r) => r.key);

  it('the daily job deletes hour partitions past EVENT_RETENTION_DAYS, objects and manifest rows, in bounded steps, and keeps the rest', async () => {
    const t = Date.now();
    const retention = Number(env.EVENT_RETENTION_DAYS) * DAY;
    // Five objects in hours past the window, two inside it (one hour before the cut-off's hour and a day old).
    const ages = [retention + 5 * DAY, retention + 3 * DAY, retention + 2 * DAY, retention + 2 * HOUR, retention + HOUR + 1, retention - 2 * HOUR, DAY];
    const written = [];
    for (const [i, age] of ages.entries()) {
      const o = await writeLogObject(env.EXPORTS, `claim-retention-${i}`, t - age, [rowAt(`retention-${i}`, t - age)]);
      await env.DB.prepare('INSERT INTO event_log_objects (key, rows, bytes, views) VALUES (?, ?, ?, ?)').bind(o.key, o.rows, o.bytes, o.views).run();
      written.push(o.key);
    }
    const old = written.slice(0, 5);
    const kept = written.slice(5);
    expect(await logKeys()).toEqual([...written].sort());

    // One bounded step: the three oldest go, with their manifest rows; the rest waits.
    const first = await trimEventLog(env, t, 3);
    expect(first).toMatchObject({ objects: 3, manifest: 3, more: true });
    expect(await logKeys()).toEqual([...old.slice(3), ...kept].sort());
    expect(await manifestKeys()).toEqual([...old.slice(3), ...kept].sort());

    // The workflow finishes the job and leaves the window alone.
    const out = await runDailyMaintenance(t);
    expect(out.expired).toMatchObject({ log_objects: 2, log_steps: 1 });
    expect(await logKeys()).toEqual([...kept].sort());
    expect(await manifestKeys()).toEqual([...kept].sort());
    expect(await readLogObject(env.EXPORTS, kept[1]!)).toEqual([expect.objectContaining({ event_id: 'retention-6' })]);
  });
});
