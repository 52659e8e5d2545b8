/**
 * The daily maintenance as a Cloudflare Workflow (binding MAINTENANCE_WORKFLOW), started by the
 * "30 2 * * *" cron (worker/ops/cron.ts) with one instance per day (id `daily-YYYY-MM-DD`, so a
 * cron that fires twice starts it once). Every job runs in bounded durable steps, so the work
 * grows in steps, not in the length of one cron invocation, and a crash resumes at the step
 * that failed:
 *  1. export the legacy D1 event log to R2 (≤ EXPORT_ROWS_PER_STEP rows per step);
 *  2. trim D1 only after the export succeeded (≤ TRIM_CHUNKS_PER_STEP × 2,000 rows per step),
 *     then experiment outcome rows past their retention;
 *  3. compact profiles (≤ COMPACT_PAGES_PER_STEP × 500 profiles per step);
 *  4. expire erasure tombstones, access-export documents and the console's visitor marks past their windows,
 *     and the R2 event log's hour partitions past EVENT_RETENTION_DAYS (≤ LOG_TRIM_OBJECTS_PER_STEP objects per step);
 *  5. when CATALOG_FEED_URL is set, pull the catalog feed (worker/catalog/feed-pull.ts: ≤ 5,000 items per step).
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { pullCatalogFeed, type FeedPullResult } from '../catalog/feed-pull';
import { trimEventLog } from '../events/log-retention';
import { DAY_MS } from '../lib/vars';
import { ACCESS_EXPORT_DAYS, ACCESS_EXPORT_PREFIX } from '../privacy/access';
import { expireTombstones } from '../privacy/tombstones';
import { compactProfiles } from './compact';
import { exportEvents, trimEventRows, trimExperimentRows } from './export';
import { log } from './log';

export const EXPORT_ROWS_PER_STEP = 50_000;
export const TRIM_CHUNKS_PER_STEP = 10;
export const COMPACT_PAGES_PER_STEP = 20;
/** Event-log objects deleted per step: a day of a 10 M-events-a-day store is ~100,000 browser-sized objects. */
export const LOG_TRIM_OBJECTS_PER_STEP = 10_000;

export interface MaintenanceParams {
  /** the cron's scheduled time (ms): retention cut-offs are measured from it */
  now: number;
}

export interface MaintenanceResult {
  exported: { rows: number; parts: number; steps: number };
  trimmed: { events: number; experiment_rows: number; steps: number } | { skipped: string };
  compacted: { deleted: number; compacted: number; scanned: number; steps: number };
  expired: { tombstones: number; access_exports: number; kpi_visitor_marks: number; log_objects: number; log_steps: number };
  catalog_feed: FeedPullResult;
}

/** Access-export documents older than ACCESS_EXPORT_DAYS. */
async function expireAccessExports(bucket: R2Bucket, now: number): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: ACCESS_EXPORT_PREFIX, cursor });
    const old = page.objects.filter((o) => o.uploaded.getTime() < now - ACCESS_EXPORT_DAYS * DAY_MS).map((o) => o.key);
    if (old.length) await bucket.delete(old);
    n += old.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return n;
}

export class DailyMaintenanceWorkflow extends WorkflowEntrypoint<Env, MaintenanceParams> {
  override async run(event: Readonly<WorkflowEvent<MaintenanceParams>>, step: WorkflowStep): Promise<MaintenanceResult> {
    const env = this.env;
    const { now } = event.payload;
    const out: MaintenanceResult = {
      exported: { rows: 0, parts: 0, steps: 0 },
      trimmed: { events: 0, experiment_rows: 0, steps: 0 },
      compacted: { deleted: 0, compacted: 0, scanned: 0, steps: 0 },
      expired: { tombstones: 0, access_exports: 0, kpi_visitor_marks: 0, log_objects: 0, log_steps: 0 },
      catalog_feed: { skipped: 'not run' },
    };
    let exportFailed: string | null = null;
    for (let i = 1; ; i++) {
      try {
        const r = await step.do(`export ${i}`, async () => {
          const e = await exportEvents(env, now, { maxRows: EXPORT_ROWS_PER_STEP, run: `${now}-${i}` });
          return { rows: e.rows, parts: e.parts.length };
        });
        out.exported.rows += r.rows;
        out.exported.parts += r.parts;
        out.exported.steps++;
        if (r.rows < EXPORT_ROWS_PER_STEP) break;
      } catch (e) {
        // Nothing is deleted that is not in R2: no trim after a failed export; the other jobs run.
        exportFailed = (e as Error).message;
        break;
      }
    }
    if (exportFailed) out.trimmed = { skipped: `export failed: ${exportFailed}` };
    else {
      const t = out.trimmed as { events: number; experiment_rows: number; steps: number };
      for (let i = 1; ; i++) {
        const r = await step.do(`trim events ${i}`, () => trimEventRows(env, now, TRIM_CHUNKS_PER_STEP));
        t.events += r.deleted;
        t.steps++;
        if (!r.more) break;
      }
      t.experiment_rows = await step.do('trim experiment rows', () => trimExperimentRows(env, now));
    }
    let from: string | undefined;
    for (let i = 1; ; i++) {
      const at = from;
      const r = await step.do(`compact profiles ${i}`, () => compactProfiles(env, now, { from: at, maxPages: COMPACT_PAGES_PER_STEP }));
      out.compacted.deleted += r.deleted;
      out.compacted.compacted += r.compacted;
      out.compacted.scanned += r.scanned;
      out.compacted.steps++;
      if (r.next === null) break;
      from = r.next;
    }
    out.expired.tombstones = await step.do('expire tombstones', () => expireTombstones(env.DB, now));
    out.expired.access_exports = await step.do('expire access exports', () => expireAccessExports(env.EXPORTS, now));
    out.expired.kpi_visitor_marks = await step.do('expire kpi visitor marks', () => expireVisitorMarks(env.DB, now));
    for (let i = 1; ; i++) {
      const r = await step.do(`expire event log ${i}`, () => trimEventLog(env, now, LOG_TRIM_OBJECTS_PER_STEP));
      out.expired.log_objects += r.objects;
      out.expired.log_steps++;
      if (!r.more) break;
    }
    // Last and on its own: an unreachable feed must not keep the jobs above from running.
    try {
      out.catalog_feed = await pullCatalogFeed(env, step, now);
    } catch (e) {
      out.catalog_feed = { error: (e as Error).message };
    }
    log(exportFailed || 'error' in out.catalog_feed ? 'error' : 'info', 'daily_maintenance_done', { ...out });
    return out;
  }
}

/** The console's visitor marks (worker/events/kpi-rollup.ts) of days before yesterday: their days are closed. */
async function expireVisitorMarks(d1: D1Database, now: number): Promise<number> {
  const r = await d1.prepare('DELETE FROM kpi_visitors WHERE day < ?1').bind(now - (now % DAY_MS) - DAY_MS).run();
  return r.meta.changes ?? 0;
}

/** The cron's job: start today's instance (or report the one already started). */
export async function startDailyMaintenance(env: Env, now: number): Promise<{ id: string; status: string }> {
  const id = `daily-${new Date(now).toISOString().slice(0, 10)}`;
  try {
    const instance = await env.MAINTENANCE_WORKFLOW.create({ id, params: { now } });
    return { id: instance.id, status: 'started' };
  } catch (e) {
    const existing = await env.MAINTENANCE_WORKFLOW.get(id).catch(() => null);
    if (!existing) throw e;
    return { id, status: `already ${(await existing.status()).status}` };
  }
}
