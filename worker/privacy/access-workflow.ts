/**
 * The access export as a Cloudflare Workflow (binding ACCESS_WORKFLOW): the archive is read one
 * page of R2 log objects per durable step, (session, shopper) objects 16 per step, then the document is
 * assembled and stored in R2 (worker/privacy/access.ts). Params hold pseudonymous keys only.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import type { ExportedEvent } from '../ops/export';
import type { ShopperExport } from '../schemas/shoppers';
import { ARCHIVE_START, type ArchivePosition } from './archive';
import { bufferedEvents, currentSegments, d1Records, mergeEvents, readArchivePage, sessionStates, snake, storeAccessExport } from './access';
import { sessionChunks } from './erase';
import { allSessionKeys, resolveSubject, sessionObjects, toKeys, toSubject, type SubjectKeys } from './subject';

/** step.do for JSON rows typed with `unknown` fields, which Rpc.Serializable cannot check. */
const rows = <T>(step: WorkflowStep, name: string, fn: () => Promise<T>): Promise<T> => step.do(name, fn as () => Promise<never>);

export class ShopperExportWorkflow extends WorkflowEntrypoint<Env, SubjectKeys> {
  override async run(event: Readonly<WorkflowEvent<SubjectKeys>>, step: WorkflowStep): Promise<{ key: string; events: number; bytes: number }> {
    const env = this.env;
    const s = toSubject(await step.do('find sessions', async () => toKeys(await resolveSubject(env, event.payload))));
    const archived: ExportedEvent[] = [];
    for (let pos: ArchivePosition | null = ARCHIVE_START, page = 1; pos; page++) {
      const at: ArchivePosition = pos;
      const r = await step.do(`r2 log ${page}`, () => readArchivePage(env, s, at));
      archived.push(...r.rows);
      // The user's sessions known only to the archive (older than the index) add their objects.
      for (const k of r.newSessions) s.userSessionKeys.add(k);
      pos = r.next;
    }
    const buffered = await step.do('event buffer', () => bufferedEvents(env, s));
    const archivedPurchases = archived.filter((e) => e.type === 'purchase').map((e) => String(e.event_id));
    const d1 = await rows(step, 'd1 records', () => d1Records(env, s, archivedPurchases));
    const sessions: Awaited<ReturnType<typeof sessionStates>> = [];
    for (const [i, part] of sessionChunks(sessionObjects(s)).entries()) sessions.push(...(await rows(step, `session objects ${i + 1}`, () => sessionStates(env, part))));
    const segments = await step.do('segments', () => currentSegments(env, d1.profile, sessions.map((x) => x.state)));
    const doc: ShopperExport = {
      generated_at: new Date(event.timestamp).toISOString(),
      subject: { user_key: s.userKey, session_keys: allSessionKeys(s) },
      profile: d1.profile && snake(d1.profile),
      sessions: sessions as ShopperExport['sessions'],
      events: mergeEvents(archived, buffered, d1.events),
      recommendations_served: d1.served,
      attributed_purchases: d1.purchases,
      segments,
    };
    return step.do('store document', () => storeAccessExport(env, event.instanceId, doc));
  }
}
