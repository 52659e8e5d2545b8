/**
 * The event log in R2 seen from the shopper-rights side: the consumer's log (worker/events/
 * log-store.ts) and the legacy D1 exports (worker/ops/export.ts). Objects are not indexed by
 * shopper, so erasure and access walk every object under the event-log prefixes, one bounded page
 * of keys per workflow step (archivePage), and find or remove a subject's rows in those objects.
 */
import { EVENT_PREFIXES, parseLog, typeCounts } from '../events/log-store';
import { gunzip, gzip, type ExportedEvent } from '../ops/export';
import { ownsEvent, type Subject } from './subject';

/** A partition changed by someone else between our read and write is re-read this many times. */
const MAX_ATTEMPTS = 5;
/** Objects per workflow step: one GET each (and a PUT/DELETE where the subject has rows). */
export const ARCHIVE_PAGE = 250;

/** Where a walk over the archive stands: the prefix (index into EVENT_PREFIXES) and R2's list cursor. */
export interface ArchivePosition {
  prefix: number;
  cursor?: string;
}

export const ARCHIVE_START: ArchivePosition = { prefix: 0 };

/** One page of event-log object keys from `pos`, and where the next page starts (null: done). */
export async function archivePage(bucket: R2Bucket, pos: ArchivePosition, limit = ARCHIVE_PAGE): Promise<{ keys: string[]; next: ArchivePosition | null }> {
  const page = await bucket.list({ prefix: EVENT_PREFIXES[pos.prefix], cursor: pos.cursor, limit });
  const keys = page.objects.map((o) => o.key);
  if (page.truncated) return { keys, next: { prefix: pos.prefix, cursor: page.cursor } };
  return { keys, next: pos.prefix + 1 < EVENT_PREFIXES.length ? { prefix: pos.prefix + 1 } : null };
}

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

export async function readArchivedEvents(bucket: R2Bucket, s: Subject, keys: Iterable<string>): Promise<ArchiveRead> {
  const rows: ExportedEvent[] = [];
  const found = new Set<string>();
  for (const key of keys) {
    const obj = await bucket.get(key);
    if (!obj) continue;
    const all = parseLog(await gunzip(obj.body));
    unknownSessions(s, all, found);
    rows.push(...all.filter((r) => ownsEvent(s, r)));
  }
  return { rows, newSessions: [...found] };
}

/** What an object will hold once the subject's rows are gone (rows 0: it is deleted). */
export interface ArchiveChange {
  /** the legacy export run that wrote it ('' for the consumer's log) */
  run: string;
  key: string;
  rows: number;
  bytes: number;
  removed: number;
  types: ReturnType<typeof typeCounts>;
  /** event ids of the subject's purchases in it (their attribution rows go too) */
  purchases: string[];
}

export interface ArchiveErasure {
  objects_scanned: number;
  objects_rewritten: number;
  objects_deleted: number;
  rows_removed: number;
  newSessions: string[];
}

/**
 * Rewrite each of `keys` that holds the subject's rows without them (an emptied object is
 * deleted). `beforeWrite` runs first with the object's new counts, so the D1 records of an object
 * (manifest, export runs) never lag behind it: they are set to absolute values, and a retry after
 * a crash between the two writes reads the object again and sets the same values. The R2 write
 * is conditional on the object's etag, so two erasures at once cannot put back each other's rows.
 */
export async function eraseArchivedEvents(bucket: R2Bucket, s: Subject, keys: Iterable<string>, beforeWrite: (c: ArchiveChange) => Promise<void>): Promise<ArchiveErasure> {
  const out: ArchiveErasure = { objects_scanned: 0, objects_rewritten: 0, objects_deleted: 0, rows_removed: 0, newSessions: [] };
  const found = new Set<string>();
  for (const key of keys) {
    out.objects_scanned++;
    for (let attempt = 1; ; attempt++) {
      const obj = await bucket.get(key);
      if (!obj) break;
      const all = parseLog(await gunzip(obj.body));
      unknownSessions(s, all, found);
      const keep = all.filter((r) => !ownsEvent(s, r));
      const removed = all.length - keep.length;
      if (!removed) break;
      const purchases = all.filter((r) => r.type === 'purchase' && ownsEvent(s, r)).map((r) => String(r.event_id));
      const run = obj.customMetadata?.run ?? '';
      if (!keep.length) {
        // Every row left is the subject's, whoever else changed the object meanwhile.
        await beforeWrite({ run, key, rows: 0, bytes: 0, removed, types: typeCounts([]), purchases });
        await bucket.delete(key);
        out.objects_deleted++;
        out.rows_removed += removed;
        break;
      }
      const body = await gzip(keep.map((r) => JSON.stringify(r)).join('\n') + '\n');
      await beforeWrite({ run, key, rows: keep.length, bytes: body.byteLength, removed, types: typeCounts(keep), purchases });
      const put = await bucket.put(key, body, {
        onlyIf: { etagMatches: obj.etag },
        httpMetadata: obj.httpMetadata,
        customMetadata: { ...obj.customMetadata, rows: String(keep.length) },
      });
      if (put) {
        out.objects_rewritten++;
        out.rows_removed += removed;
        break;
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`event log object ${key} kept changing during erasure`);
    }
  }
  out.newSessions = [...found];
  return out;
}
