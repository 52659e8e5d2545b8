/**
 * What one session object call costs in billed storage: rows written by its SQLite statements
 * (cursor.rowsWritten, the figure Cloudflare bills for SQLite-backed Durable Objects), measured
 * inside workerd on a real session object. `npm run bench:events` prices the event data plane
 * with these figures (scripts/lib/event-costs.ts); this test keeps them honest: it fails when the
 * code writes more (or, by a wide margin, fewer) rows than the constants say.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { DO_ROWS_PER_CALL, DO_ROWS_PER_EVENT } from '../../scripts/lib/event-costs';
import { sessionStub } from '../../worker/session/client';
import type { ClaimBatch } from '../../worker/session/durable-object';

const TYPES = ['view', 'view', 'view', 'impression', 'impression', 'click', 'add_to_cart', 'purchase'] as const;

function batch(tag: string, n: number, attrs: string[]): ClaimBatch {
  return {
    claim: `claim-${tag}`,
    events: Array.from({ length: n }, (_, i) => ({ eventId: `${tag}-${i}`, type: TYPES[i % TYPES.length]!, itemId: `item-${i % 40}`, ts: Date.now() - 10_000 + i, value: null, attrs, recommendationId: null })),
  };
}

/** Rows written by every statement the session object runs during `run` (its own SqlStorage). */
async function rowsWritten(key: string, run: (obj: { claim: (b: ClaimBatch[], u: string | null) => Promise<unknown> }) => Promise<unknown>): Promise<number> {
  return runInDurableObject(sessionStub(env, key, null), async (obj, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
    (sql as { exec: typeof sql.exec }).exec = ((query: string, ...bindings: unknown[]) => {
      const c = exec(query, ...bindings);
      cursors.push(c);
      return c;
    }) as typeof sql.exec;
    try {
      await run(obj as never);
    } finally {
      (sql as { exec: unknown }).exec = exec;
    }
    return cursors.reduce((n, c) => n + c.rowsWritten, 0);
  });
}

describe('session object storage cost per event', () => {
  it('rows written per new event and per call match the figures the cost table uses', async () => {
    const key = `cost-${Date.now()}`;
    const attrs = ['category:skincare', 'brand:acme'];
    // Warm: the schema exists and the bounded tables (recent, anonymous) are full, as in a long session.
    await rowsWritten(key, (o) => o.claim([batch('warm', 120, attrs)], null));
    const sizes = [10, 100];
    const measured: Record<number, number> = {};
    for (const n of sizes) measured[n] = await rowsWritten(key, (o) => o.claim([batch(`m${n}`, n, attrs)], null));
    // Two sizes give the per-event slope and the per-call intercept.
    const perEvent = (measured[100]! - measured[10]!) / 90;
    const perCall = measured[10]! - 10 * perEvent;
    console.log(JSON.stringify({ msg: 'session_object_rows_written', measured, per_event: perEvent, per_call: perCall }));
    expect(perEvent).toBeLessThanOrEqual(DO_ROWS_PER_EVENT);
    expect(perEvent).toBeGreaterThan(DO_ROWS_PER_EVENT * 0.75);
    expect(perCall).toBeLessThanOrEqual(DO_ROWS_PER_CALL + 0.5);
    // A redelivered claim writes nothing but the dedupe window's prune.
    const again = await rowsWritten(key, (o) => o.claim([batch('m100', 100, attrs)], null));
    expect(again).toBeLessThanOrEqual(1);
  });
});
