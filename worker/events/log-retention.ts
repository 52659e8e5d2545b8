/**
 * Retention of the R2 event log (worker/events/log-store.ts): hour partitions older than
 * EVENT_RETENTION_DAYS are deleted by the daily maintenance workflow, in bounded steps.
 * Keys sort by the hour the events were accepted, so "older than the cut-off" is a key range:
 *  1. list the oldest log keys below the cut-off's hour prefix (at most `maxObjects` per call);
 *  2. delete those objects (R2 deletes up to 1,000 keys per call);
 *  3. delete their manifest rows (event_log_objects) up to the last key deleted.
 * Retry-safe: listing is the truth, so a step that crashed after 2 finds the rest (and the
 * leftover manifest rows) next time; a manifest row without its object reads as nothing.
 */
import { retentionMs } from '../lib/vars';
import { hourPrefix, LOG_PREFIX } from './log-store';

/** R2's limit for one delete call. */
const DELETE_KEYS = 1000;

export interface LogTrim {
  /** objects deleted by this call */
  objects: number;
  /** manifest rows deleted */
  manifest: number;
  /** objects below the cut-off are left for the next call */
  more: boolean;
  /** keys below this prefix are past retention */
  cutoff: string;
}

export async function trimEventLog(env: Pick<Env, 'EXPORTS' | 'DB' | 'EVENT_RETENTION_DAYS'>, now: number, maxObjects = 10_000): Promise<LogTrim> {
  const cutoff = hourPrefix(now - retentionMs(env.EVENT_RETENTION_DAYS, 30));
  const keys: string[] = [];
  let cursor: string | undefined;
  let more = false;
  list: do {
    const page = await env.EXPORTS.list({ prefix: LOG_PREFIX, cursor, limit: 1000 });
    for (const o of page.objects) {
      if (o.key >= cutoff) break list;
      if (keys.length >= maxObjects) {
        more = true;
        break list;
      }
      keys.push(o.key);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  for (let i = 0; i < keys.length; i += DELETE_KEYS) await env.EXPORTS.delete(keys.slice(i, i + DELETE_KEYS));
  // Rows up to the last key deleted (all older objects are gone too); without one, rows of objects a crashed step deleted.
  const upTo = more ? keys[keys.length - 1]! : cutoff;
  const r = await env.DB.prepare(`DELETE FROM event_log_objects WHERE key >= ?1 AND key ${more ? '<=' : '<'} ?2`).bind(LOG_PREFIX, upTo).run();
  return { objects: keys.length, manifest: r.meta.changes ?? 0, more, cutoff };
}
