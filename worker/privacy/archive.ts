/**
 * The event log in R2 seen from the shopper-rights side: the consumer's log (worker/events/
 * log-store.ts) and the legacy D1 exports (worker/ops/export.ts). Find a subject's rows in the
 * objects, and rewrite the objects without them. Objects are not indexed by shopper, so both walk
 * every object under the event-log prefixes.
 */
import { logObjectKeys, parseLog, typeCounts } from '../events/log-store';
import { gunzip, gzip, type ExportedEvent } from '../ops/export';
import { ownsEvent, type Subject } from './subject';

/** A partition changed by someone else between our read and write is re-read this many times. */
const MAX_ATTEMPTS = 5;

const partitionKeys = (bucket: R2Bucket) => logObjectKeys(bucket);
const parseLines = parseLog;

/** Sessions the user's archived rows name that the subject does not know yet (data older than the index). */
function unknownSessions(s: Subject, rows: ExportedEvent[], into: Set<string>): void {
  for (const r of rows) {
    const k = String(r.session_key);
    if (s.userKey !== null && r.user_key === s.userKey && !s.sessionKeys.has(k) && !s.userSessionKeys.has(k)) into.add(k);
  }
}

export interface ArchiveRead {
  rows: ExportedEvent[];
  /** the user's sessions found only in the archive; the caller adds their objects to the subject */
  newSessions: string[];
}

export async function readArchivedEvents(bucket: R2Bucket, s: Subject): Promise<ArchiveRead> {
  const rows: ExportedEvent[] = [];
  const found = new Set<string>();
  for await (const key of partitionKeys(bucket)) {
    const obj = await bucket.get(key);
    if (!obj) continue;
    const all = parseLines(await gunzip(obj.body));
    unknownSessions(s, all, found);
    rows.push(...all.filter((r) => ownsEvent(s, r)));
  }
  return { rows, newSessions: [...found] };
}

export interface ArchiveErasure {
  objects_scanned: number;
  objects_rewritten: number;
  objects_deleted: number;
  rows_removed: number;
  /** export runs whose parts changed: run id -> key -> rows left (0: object deleted) and bytes */
  changedParts: { run: string; key: string; rows: number; bytes: number; removed: number; types: ReturnType<typeof typeCounts> }[];
  newSessions: string[];
}

/**
 * Rewrite every partition holding the subject's rows without them (an emptied partition is
 * deleted). The write is conditional on the object's etag, so two erasures running at once
 * cannot put back each other's rows.
 */
export async function eraseArchivedEvents(bucket: R2Bucket, s: Subject, onRemoved?: (row: ExportedEvent) => void): Promise<ArchiveErasure> {
  const out: ArchiveErasure = { objects_scanned: 0, objects_rewritten: 0, objects_deleted: 0, rows_removed: 0, changedParts: [], newSessions: [] };
  const found = new Set<string>();
  for await (const key of partitionKeys(bucket)) {
    out.objects_scanned++;
    for (let attempt = 1; ; attempt++) {
      const obj = await bucket.get(key);
      if (!obj) break;
      const all = parseLines(await gunzip(obj.body));
      unknownSessions(s, all, found);
      const keep = all.filter((r) => !ownsEvent(s, r));
      const removed = all.length - keep.length;
      if (!removed) break;
      const done = () => all.forEach((r) => ownsEvent(s, r) && onRemoved?.(r));
      const run = obj.customMetadata?.run ?? '';
      if (!keep.length) {
        // Every row left is the subject's, whoever else changed the object meanwhile.
        await bucket.delete(key);
        out.objects_deleted++;
        out.rows_removed += removed;
        out.changedParts.push({ run, key, rows: 0, bytes: 0, removed, types: typeCounts([]) });
        done();
        break;
      }
      const body = await gzip(keep.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const put = await bucket.put(key, body, {
        onlyIf: { etagMatches: obj.etag },
        httpMetadata: obj.httpMetadata,
        customMetadata: { ...obj.customMetadata, rows: String(keep.length) },
      });
      if (put) {
        out.objects_rewritten++;
        out.rows_removed += removed;
        out.changedParts.push({ run, key, rows: keep.length, bytes: body.byteLength, removed, types: typeCounts(keep) });
        done();
        break;
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`export partition ${key} kept changing during erasure`);
    }
  }
  out.newSessions = [...found];
  return out;
}
