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
import { emptyCounts, eraseAccessExports, eraseArchivePage, eraseBuffered, eraseD1Rows, eraseSessions, finishErasure, sessionChunks } from './erase';
import { resolveSubject, toKeys, toSubject, type SubjectKeys } from './subject';
import { recordTombstones } from './tombstones';

/** Passes over the archive: a pass only adds sessions the user's own archived rows name. */
const MAX_PASSES = 4;

export interface ErasureParams extends SubjectKeys {
  /** when the erasure was requested (ms); the tombstones' time */
  requestedAt: number;
}

export class ShopperErasureWorkflow extends WorkflowEntrypoint<Env, ErasureParams> {
  override async run(event: Readonly<WorkflowEvent<ErasureParams>>, step: WorkflowStep): Promise<ErasureReceipt> {
    const env = this.env;
    const p = event.payload;
    const keys = await step.do('find sessions', async () => toKeys(await resolveSubject(env, p)));
    const s = toSubject(keys);
    const counts = emptyCounts();
    let fresh = keys.sessionKeys;
    for (let pass = 1; ; pass++) {
      const tombstoned = [...(pass === 1 && s.userKey ? [s.userKey] : []), ...fresh];
      await step.do(`tombstones ${pass}`, () => recordTombstones(env.DB, tombstoned, Math.max(p.requestedAt, Date.now())));
      counts.durable_objects.buffered_events += await step.do(`event buffer ${pass}`, () => eraseBuffered(env, { userKey: s.userKey, sessionKeys: fresh }));
      for (const [i, part] of sessionChunks(fresh).entries()) {
        const r = await step.do(`session objects ${pass}.${i + 1}`, () => eraseSessions(env, part));
        for (const [k, v] of Object.entries(r)) counts.durable_objects[k as keyof typeof r] += v;
      }
      const d1 = await step.do(`d1 rows ${pass}`, () => eraseD1Rows(env, s));
      for (const [t, n] of Object.entries(d1)) counts.d1[t] = (counts.d1[t] ?? 0) + n;
      const found = new Set<string>();
      let scanned = 0;
      for (let pos: ArchivePosition | null = ARCHIVE_START, page = 1; pos; page++) {
        const at: ArchivePosition = pos;
        const r = await step.do(`r2 log ${pass}.${page}`, () => eraseArchivePage(env, s, at));
        scanned += r.r2.objects_scanned;
        counts.r2.objects_rewritten += r.r2.objects_rewritten;
        counts.r2.objects_deleted += r.r2.objects_deleted;
        counts.r2.rows_removed += r.r2.rows_removed;
        counts.d1.rec_purchases! += r.rec_purchases;
        for (const k of r.newSessions) if (!s.sessionKeys.has(k)) found.add(k);
        pos = r.next;
      }
      counts.r2.objects_scanned = Math.max(counts.r2.objects_scanned, scanned);
      fresh = [...found].sort();
      if (!fresh.length || pass >= MAX_PASSES) break;
      for (const k of fresh) s.sessionKeys.add(k);
    }
    await step.do('access exports', () => eraseAccessExports(env, s));
    return step.do('receipt', () => finishErasure(env, s, event.instanceId, counts));
  }
}
