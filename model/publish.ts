/**
 * Publishing a model version: every file to R2 under models/<version>/ (neighbour shards, lists,
 * rank graph, the manifest last), then the registry row in D1 (its sha256 is the manifest's, and
 * the manifest holds every other file's; `verified_at`: every upload succeeded, so workers need
 * not list the shards again), which makes it the active model (the previous active
 * one is retired and remembered in previous_version for one-step rollback). The worker verifies
 * all of it before serving, so a version whose upload stopped half-way is never served.
 *
 * Local state is written through wrangler's platform proxy (the same storage `wrangler dev`
 * uses), a thousand shards in seconds; the account's through `wrangler r2 object put`.
 */
import { join } from 'node:path';
import { FILES, shardFile } from './contract';
import { readArtifact, sha256, type ReadArtifact } from './artifact';
import { targetFlags, type Target } from './target';
import { sqlString, wrangler } from './wrangler';

/** `activate: false` only registers the version (status 'registered'): a canary then starts it. */
export function registerSql(m: { version: string; sha256: string; bytes: number; summary: Record<string, unknown> }, now: number, activate = true): string {
  const v = sqlString(m.version);
  const register = [
    `INSERT INTO models (version, r2_prefix, sha256, bytes, status, created_at, activated_at, previous_version, summary, verified_at) VALUES (${v}, ${sqlString(`models/${m.version}/`)}, ${sqlString(m.sha256)}, ${m.bytes}, 'registered', ${now}, NULL, (SELECT version FROM models WHERE status = 'active' AND version <> ${v} ORDER BY activated_at DESC LIMIT 1), ${sqlString(JSON.stringify(m.summary))}, ${now}) ON CONFLICT(version) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes, summary = excluded.summary, verified_at = excluded.verified_at, previous_version = COALESCE(excluded.previous_version, models.previous_version);`,
  ];
  if (!activate) return register.join(' ');
  return [
    ...register,
    `UPDATE models SET status = 'retired' WHERE status = 'active' AND version <> ${v};`,
    `UPDATE models SET status = 'active', activated_at = ${now} WHERE version = ${v};`,
  ].join(' ');
}

/** The files of a version in upload order: everything the manifest names first, the manifest last. */
export function uploadOrder(a: ReadArtifact): { name: string; bytes: Uint8Array; type: string }[] {
  return [
    ...a.shards.map((b, i) => ({ name: shardFile(i), bytes: b, type: 'application/octet-stream' })),
    { name: FILES.lists, bytes: a.lists, type: 'application/json' },
    { name: FILES.rank, bytes: a.rank, type: 'application/octet-stream' },
    { name: FILES.manifest, bytes: a.manifestBytes, type: 'application/json' },
  ];
}

function summaryOf(a: ReadArtifact): Record<string, unknown> {
  const m = a.manifest;
  return { items: m.dims.items, shards: m.dims.shards, neighbours: m.dims.neighbours, weights: m.weights, quantization: m.quantization, data: (m.training as { data?: unknown }).data, metrics: m.metrics, total_bytes: m.files.total_bytes };
}

export interface PublishOptions {
  /** false: upload and register only (the version then starts as a canary); default true */
  activate?: boolean;
  /** print the wrangler commands instead of running them; nothing is written */
  dryRun?: boolean;
  /** a local state directory other than .wrangler/state (wrangler's --persist-to) */
  persistTo?: string;
  log?: (line: string) => void;
}

/** Uploads a version to the target's MODELS bucket and registers it in its D1 database; returns the version. */
export async function publish(dir: string, t: Target, opts: PublishOptions = {}): Promise<string> {
  const art = readArtifact(dir); // verifies every file's sha256
  const v = art.manifest.version;
  if (!/^[A-Za-z0-9._-]+$/.test(v)) throw new Error(`manifest version "${v}" is not a safe R2 key segment`);
  const files = uploadOrder(art);
  const sql = registerSql({ version: v, sha256: sha256(art.manifestBytes), bytes: art.manifest.files.total_bytes + art.manifestBytes.length, summary: summaryOf(art) }, Date.now(), opts.activate !== false);
  if (t.where === 'local' && !opts.dryRun) {
    const { getPlatformProxy } = await import('wrangler');
    const proxy = await getPlatformProxy<Env>({ persist: { path: join(opts.persistTo ?? '.wrangler/state', 'v3') }, remoteBindings: false });
    try {
      // R2 checks each upload against its sha256 and keeps it: the worker then verifies a shard it
      // reads against the manifest without hashing it again.
      for (const f of files) await proxy.env.MODELS.put(`models/${v}/${f.name}`, f.bytes, { httpMetadata: { contentType: f.type }, sha256: sha256(f.bytes) });
      await proxy.env.DB.exec(sql.replace(/\n/g, ' '));
    } finally {
      await proxy.dispose();
    }
    return v;
  }
  const flag = [...targetFlags(t), ...(t.where === 'local' && opts.persistTo ? ['--persist-to', opts.persistTo] : [])];
  const put = (f: (typeof files)[number]) => wrangler(['r2', 'object', 'put', `${t.models}/models/${v}/${f.name}`, '--file', join(dir, f.name), '--content-type', f.type, ...flag], { dryRun: opts.dryRun, log: opts.log });
  const shards = files.filter((f) => f.name.startsWith(FILES.shardDir));
  for (const f of files) {
    // A dry run names the first shard upload only: a large model has a thousand of them.
    if (opts.dryRun && shards.indexOf(f) > 0) continue;
    put(f);
    if (opts.dryRun && f === shards[0] && shards.length > 1) (opts.log ?? console.log)(`  … and ${shards.length - 1} more shard uploads like it`);
  }
  wrangler(['d1', 'execute', t.database, ...flag, '--command', sql], { dryRun: opts.dryRun, log: opts.log });
  return v;
}

/**
 * Starts `version` as a canary through the worker's admin API (the worker owns the rollout rule).
 * Throws with the API's answer when it refuses or cannot be reached.
 */
export async function startCanary(url: string, token: string, version: string, share?: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/v1/admin/models/${encodeURIComponent(version)}/canary`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(share !== undefined ? { share } : {}),
  }).catch((e: Error) => e);
  if (res instanceof Error) throw new Error(`${url}: ${res.message}`);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}
