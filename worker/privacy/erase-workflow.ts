/**
 * The erasure as a Cloudflare Workflow (binding ERASURE_WORKFLOW): the ordered steps of
 * worker/privacy/erase.ts, each a durable step.do in a bounded chunk (16 session objects, or one
 * page of R2 log objects, per step), so an archive of any size is erased across many short steps
 * and a crash resumes where it stopped. The instance id is the receipt id; its output is the
 * receipt. Params hold pseudonymous keys only (the route pseudonymises the raw ids).
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import type { ErasureReceipt } from '../schemas/shoppers';
import { ARCHIVE_START, type ArchivePosition } from './archive';
import { emptyCounts, eraseAccessExports, eraseArchivePage, eraseBuffered, eraseD1Rows, eraseSessions, finishErasure, sessionChunks, type SessionObject } from './erase';
import { resolveSubject, sessionObjects, toKeys, toSubject, type SubjectKeys } from './subject';
import { recordTombstones } from './tombstones';

export interface ErasureParams extends SubjectKeys {
  /** when the erasure was requested (ms); the tombstones' time */
  requestedAt: number;
}

export class ShopperErasureWorkflow extends WorkflowEntrypoint<Env, ErasureParams> {
  override async run(event: Readonly<WorkflowEvent<ErasureParams>>, step: WorkflowStep): Promise<ErasureReceipt> {
    const env = this.env;
    const p = event.payload;
    const s = toSubject(await step.do('find sessions', async () => toKeys(await resolveSubject(env, p))));
    const counts = emptyCounts();
    const eraseObjects = async (name: string, objects: SessionObject[]) => {
      for (const [i, part] of sessionChunks(objects).entries()) {
        const r = await step.do(`${name} ${i + 1}`, () => eraseSessions(env, part));
        for (const [k, v] of Object.entries(r)) counts.durable_objects[k as keyof typeof r] += v;
      }
    };
    // The user's key and the named sessions (the route recorded them before answering; again here, idempotent).
    await step.do('tombstones', () => recordTombstones(env.DB, [...(s.userKey ? [s.userKey] : []), ...s.sessionKeys], p.requestedAt));
    counts.durable_objects.buffered_events = await step.do('event buffer', () => eraseBuffered(env, { userKey: s.userKey, sessionKeys: [...s.sessionKeys] }));
    await eraseObjects('session objects', sessionObjects(s));
    const d1 = await step.do('d1 rows', () => eraseD1Rows(env, s));
    for (const [t, n] of Object.entries(d1)) counts.d1[t] = (counts.d1[t] ?? 0) + n;
    const found = new Set<string>();
    for (let pos: ArchivePosition | null = ARCHIVE_START, page = 1; pos; page++) {
      const at: ArchivePosition = pos;
      const r = await step.do(`r2 log ${page}`, () => eraseArchivePage(env, s, at));
      counts.r2.objects_scanned += r.r2.objects_scanned;
      counts.r2.objects_rewritten += r.r2.objects_rewritten;
      counts.r2.objects_deleted += r.r2.objects_deleted;
      counts.r2.rows_removed += r.r2.rows_removed;
      counts.d1.rec_purchases! += r.rec_purchases;
      for (const k of r.newSessions) found.add(k);
      pos = r.next;
    }
    // The user's sessions found only in the archive: their (session, user) objects go too.
    const archiveOnly = [...found].sort();
    for (const k of archiveOnly) s.userSessionKeys.add(k);
    await eraseObjects('archive-only session objects', sessionObjects({ ...s, sessionKeys: new Set() }, archiveOnly));
    await step.do('access exports', () => eraseAccessExports(env, s));
    return step.do('receipt', () => finishErasure(env, s, event.instanceId, counts));
  }
}
