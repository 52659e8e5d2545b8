/**
 * `npm run model:retrain`: close the learning loop. Reads the worker's R2 event log (and catalog),
 * trains a candidate with the training pipeline (model/pipeline.ts) on every event before the
 * most recent day (24 h), scores it and the active model on that day (model/holdout.ts), records the
 * training-time statistics drift detection compares with in the candidate's manifest, and, only
 * when the candidate is not worse, publishes it (registered, not active) and starts it as a canary
 * through the worker's admin API, whose canary rule then promotes or rolls it back.
 *
 * Where the data lives: local (default) through wrangler's platform proxy on the state
 * `wrangler dev` uses (as model/publish.ts); `env` (staging | production) through wrangler
 * against that deployed environment.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readArtifact, writeArtifact } from './artifact';
import { FILES, shardFile, type ModelManifest } from './contract';
import { buildDataset } from './dataset';
import { d1Source, exportFromD1, logKeysSql, r2LogSource, type LogSource, type Query } from './export-d1';
import { compareModels, evaluateOnHoldout, type Comparison, type HoldoutResult, lastDaySplit, type ServedModel } from './holdout';
import { trainModel } from './pipeline';
import { publish, startCanary } from './publish';
import { describeTarget, resolveTarget, targetFlags, type Environment, type Target } from './target';
import { wrangler } from './wrangler';

/** Where the worker's data is: the local state, or a deployed environment. */
export interface DataPlace {
  query: Query;
  log: LogSource;
  /** a file of the MODELS bucket, null when absent */
  modelFile(key: string): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

export async function localPlace(persistTo = '.wrangler/state'): Promise<DataPlace> {
  const { getPlatformProxy } = await import('wrangler');
  const proxy = await getPlatformProxy<Env>({ persist: { path: join(persistTo, 'v3') }, remoteBindings: false });
  const query: Query = async <T>(sql: string) => (await proxy.env.DB.prepare(sql).all<T>()).results;
  return {
    query,
    log: {
      keys: async (after, page) => (await query<{ key: string }>(logKeysSql(after, page))).map((r) => r.key),
      read: async (key) => {
        const obj = await proxy.env.EXPORTS.get(key);
        return obj ? gunzipSync(new Uint8Array(await obj.arrayBuffer())).toString('utf8') : null;
      },
    },
    modelFile: async (key) => {
      const obj = await proxy.env.MODELS.get(key);
      return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
    },
    close: () => proxy.dispose(),
  };
}

export function remotePlace(t: Target): DataPlace {
  const dir = mkdtempSync(join(tmpdir(), 'p13n-retrain-'));
  return {
    query: d1Source(t),
    log: r2LogSource(t),
    modelFile: async (key) => {
      const file = join(dir, 'file');
      try {
        wrangler(['r2', 'object', 'get', `${t.models}/${key}`, ...targetFlags(t), '--file', file]);
      } catch {
        return null;
      }
      const { readFileSync } = await import('node:fs');
      return new Uint8Array(readFileSync(file));
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The active model's files, checked against its manifest (copied to `dir`). */
async function activeModel(place: DataPlace, dir: string): Promise<ServedModel | null> {
  const [row] = await place.query<{ version: string; r2_prefix: string }>(`SELECT version, r2_prefix FROM models WHERE status = 'active' ORDER BY activated_at DESC LIMIT 1`);
  if (!row) return null;
  const get = async (name: string) => {
    const b = await place.modelFile(`${row.r2_prefix}${name}`);
    if (!b) throw new Error(`active model ${row.version}: ${row.r2_prefix}${name} is missing in R2`);
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), b);
    return b;
  };
  const manifest = JSON.parse(new TextDecoder().decode(await get(FILES.manifest))) as ModelManifest;
  await get(manifest.files.model);
  await get(manifest.files.lists.name);
  for (let i = 0; i < manifest.files.shards.length; i++) await get(shardFile(i));
  return readArtifact(dir); // verifies every file's sha256
}

export interface RetrainOptions {
  /** deployed environment; absent = local */
  env?: Environment;
  persistTo?: string;
  /** the worker's base URL (default: the target's, model/target.ts) and admin token, for starting the canary */
  url?: string;
  token: string;
  /** where the candidate's files are written */
  out: string;
  seed?: number;
  /** NDCG@10 the candidate may lose and still count as not worse (absolute) */
  tolerance?: number;
  /** canary traffic share (the worker's CANARY_SHARE when absent) */
  share?: number;
  /** compare and report, publish nothing */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface RetrainReport {
  data: { items: number; events: number; log_objects: number; holdout_day: string | null; train_events: number; holdout_events: number };
  candidate: { version: string; holdout: HoldoutResult } | null;
  active: { version: string; holdout: HoldoutResult } | null;
  decision: Comparison;
  published: boolean;
  canary: Record<string, unknown> | null;
}

export async function retrain(o: RetrainOptions): Promise<RetrainReport> {
  const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const target = await resolveTarget(o.env);
  log(`target ${describeTarget(target)}`);
  const url = o.url ?? target.url;
  if (!url) throw new Error(`wrangler.toml [env.${o.env}] has no route to reach the worker at: pass --url https://…`);
  const place = o.env ? remotePlace(target) : await localPlace(o.persistTo);
  const work = mkdtempSync(join(tmpdir(), 'p13n-active-'));
  try {
    const data = await exportFromD1(place.query, 5000, place.log);
    log(`read ${data.events.length} events (${data.logObjects} R2 log objects + legacy D1 rows) and ${data.items.length} items (${o.env ?? 'local'})`);
    const split = lastDaySplit(data.events);
    const report: RetrainReport = {
      data: { items: data.items.length, events: data.events.length, log_objects: data.logObjects, holdout_day: split?.day ?? null, train_events: split?.train.length ?? 0, holdout_events: split?.holdoutEvents ?? 0 },
      candidate: null,
      active: null,
      decision: { publish: false, reason: '' },
      published: false,
      canary: null,
    };
    if (!split) {
      report.decision = { publish: false, reason: data.events.length ? 'the log covers a single day: no earlier day to train on' : 'the event log is empty' };
      return report;
    }
    log(`holdout: ${split.day} (${split.holdoutEvents} events); training on the ${split.train.length} events before it`);
    const t0 = Date.now();
    const trained = trainModel(buildDataset(split.train, data.items), { seed: o.seed, training: { trained_before: new Date(split.cutoff).toISOString() } });
    log(`trained candidate ${trained.exported.manifest.version} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const all = buildDataset(data.events, data.items);
    const cand = await evaluateOnHoldout(all, split.cutoff, trained.exported);
    report.candidate = { version: trained.exported.manifest.version, holdout: cand };
    const active = await activeModel(place, work);
    if (active) report.active = { version: active.manifest.version, holdout: await evaluateOnHoldout(all, split.cutoff, active) };
    report.decision = compareModels(cand, report.active?.holdout ?? null, o.tolerance ?? 0);

    // The reference drift detection compares live traffic with (worker/ops/drift.ts).
    const m = trained.exported.manifest;
    m.training = { ...m.training, score_mean: cand.score_mean, category_shares: cand.category_shares, holdout_day: split.day };
    m.metrics = { ...m.metrics, holdout: { day: split.day, users: cand.users, hr: cand.hr, ndcg: cand.ndcg, mrr: cand.mrr }, ...(report.active ? { active_on_holdout: { version: report.active.version, ...report.active.holdout, category_shares: undefined } } : {}) };
    writeArtifact(o.out, trained.exported);
    log(`candidate written to ${o.out}/`);
    if (!report.decision.publish || o.dryRun) return report;

    await publish(o.out, target, { activate: false, persistTo: o.env ? undefined : o.persistTo });
    report.published = true;
    try {
      report.canary = await startCanary(url, o.token, m.version, o.share);
    } catch (e) {
      report.decision = { publish: true, reason: `${report.decision.reason}; registered ${m.version}, but the canary did not start (${(e as Error).message}) — start it with POST /v1/admin/models/${m.version}/canary` };
    }
    return report;
  } finally {
    rmSync(work, { recursive: true, force: true });
    await place.close();
  }
}
