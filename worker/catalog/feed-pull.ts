/**
 * The scheduled pull of a catalog feed (CATALOG_FEED_URL, CATALOG_FEED_FORMAT, CATALOG_FEED_FULL;
 * docs/catalog.md), run as steps of the daily maintenance workflow (worker/ops/maintenance.ts):
 *  1. fetch: download at most MAX_FEED_BYTES, keep the bytes in R2 (MODELS, catalog/feeds/), parse
 *     once for the report; a feed that cannot be read ends the pull here (nothing written);
 *  2. upsert i: FEED_ITEMS_PER_STEP items per step, each step re-reading the stored feed, so no
 *     step's result carries items and a retried step writes the same rows again (idempotent);
 *  3. removals (CATALOG_FEED_FULL = "1"): mark what the feed no longer lists, under the same guards
 *     as an import (worker/catalog/removals.ts);
 *  4. cleanup: delete the stored feed.
 */
import type { WorkflowStep } from 'cloudflare:workers';
import { FEED_FORMATS, FeedError, parseFeed, type FeedFormat, type FeedRejection, type ParsedFeed } from './feeds';
import { finishFullFeed } from './import';
import { CLOCK_MARGIN_MS, type RemovalResult } from './removals';
import { upsertItems } from './writes';

export const MAX_FEED_BYTES = 32 * 1024 * 1024;
export const FEED_ITEMS_PER_STEP = 5000;
const FETCH_TIMEOUT_MS = 120_000;

export type FeedPullEnv = Pick<Env, 'DB' | 'MODELS'> & { CATALOG_FEED_URL?: string; CATALOG_FEED_FORMAT?: string; CATALOG_FEED_FULL?: string };

interface FeedConfig {
  url: string;
  format: FeedFormat | undefined;
  full: boolean;
}

export function feedConfig(env: FeedPullEnv): FeedConfig | null {
  const url = env.CATALOG_FEED_URL?.trim();
  if (!url) return null;
  const format = FEED_FORMATS.find((f) => f === env.CATALOG_FEED_FORMAT?.trim());
  return { url, format, full: env.CATALOG_FEED_FULL?.trim() !== '0' };
}

export type FeedPullResult =
  | { skipped: string }
  | { error: string }
  | { format: FeedFormat; rows: number; upserted: number; rejected: number; first_rejected: FeedRejection[]; steps: number; removal: RemovalResult | null };

/** Reads a response body up to `max` bytes; a longer body is refused without reading the rest. */
async function readLimited(res: Response, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) throw new FeedError(`the feed is ${declared} bytes, more than ${max}`);
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel();
      throw new FeedError(`the feed is more than ${max} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

async function storedFeed(env: FeedPullEnv, key: string, format: FeedFormat | undefined): Promise<ParsedFeed> {
  const obj = await env.MODELS.get(key);
  if (!obj) throw new Error(`the pulled feed ${key} is gone from R2`);
  return parseFeed(await obj.text(), format);
}

export async function pullCatalogFeed(env: FeedPullEnv, step: Pick<WorkflowStep, 'do'>, now: number): Promise<FeedPullResult> {
  const cfg = feedConfig(env);
  if (!cfg) return { skipped: 'CATALOG_FEED_URL is not set' };
  const key = `catalog/feeds/pull-${now}`;
  const fetched = await step.do('feed fetch', async () => {
    const res = await fetch(cfg.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`GET ${new URL(cfg.url).host} answered ${res.status}`);
    try {
      const bytes = await readLimited(res, MAX_FEED_BYTES);
      const feed = parseFeed(new TextDecoder().decode(bytes), cfg.format);
      await env.MODELS.put(key, bytes);
      // Every later write is after this instant (less the margin for other machines' clocks): the full feed's removal cut-off.
      return { ok: true as const, since: Date.now() - CLOCK_MARGIN_MS, format: feed.format, rows: feed.rows, valid: feed.items.length, rejected: feed.rejected.length, first_rejected: feed.rejected.slice(0, 5) };
    } catch (e) {
      // A feed that cannot be read is not retried: the same bytes would fail the same way.
      if (e instanceof FeedError) return { ok: false as const, error: `feed: ${e.message}` };
      throw e;
    }
  });
  if (!fetched.ok) return { error: fetched.error };
  let steps = 0;
  for (let from = 0; from < fetched.valid; from += FEED_ITEMS_PER_STEP) {
    await step.do(`feed upsert ${from / FEED_ITEMS_PER_STEP + 1}`, async () => {
      const part = (await storedFeed(env, key, fetched.format)).items.slice(from, from + FEED_ITEMS_PER_STEP);
      if (part.length) await upsertItems(env.DB, part);
      return part.length;
    });
    steps++;
  }
  const removal = cfg.full && fetched.valid ? await step.do('feed removals', async () => finishFullFeed(env.DB, await storedFeed(env, key, fetched.format), { since: fetched.since })) : null;
  await step.do('feed cleanup', () => env.MODELS.delete(key));
  return { format: fetched.format, rows: fetched.rows, upserted: fetched.valid, rejected: fetched.rejected, first_rejected: fetched.first_rejected, steps, removal };
}
