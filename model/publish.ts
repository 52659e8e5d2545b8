/**
 * Publishing: upload model.onnx + manifest.json to R2 under models/<version>/ and register the
 * version in D1 as the active model (the previous active one is retired and remembered in
 * previous_version for one-step rollback).
 */
import { join } from 'node:path';
import { readArtifact } from './artifact';
import { BUCKET, DB_NAME, sqlString, type Where, wrangler } from './wrangler';

export function registerSql(m: { version: string; sha256: string; bytes: number; summary: Record<string, unknown> }, now: number): string {
  const v = sqlString(m.version);
  return [
    `INSERT INTO models (version, r2_prefix, sha256, bytes, status, created_at, activated_at, previous_version, summary) VALUES (${v}, ${sqlString(`models/${m.version}/`)}, ${sqlString(m.sha256)}, ${m.bytes}, 'registered', ${now}, NULL, (SELECT version FROM models WHERE status = 'active' AND version <> ${v} ORDER BY activated_at DESC LIMIT 1), ${sqlString(JSON.stringify(m.summary))}) ON CONFLICT(version) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes, summary = excluded.summary, previous_version = COALESCE(excluded.previous_version, models.previous_version);`,
    `UPDATE models SET status = 'retired' WHERE status = 'active' AND version <> ${v};`,
    `UPDATE models SET status = 'active', activated_at = ${now} WHERE version = ${v};`,
  ].join(' ');
}

/** `persistTo` picks a local state directory other than .wrangler/state (wrangler's --persist-to). */
export function publish(dir: string, where: Where, dryRun = false, persistTo?: string): string {
  const { manifest } = readArtifact(dir); // verifies sha256
  const v = manifest.version;
  if (!/^[A-Za-z0-9._-]+$/.test(v)) throw new Error(`manifest version "${v}" is not a safe R2 key segment`);
  const flag = [`--${where}`, ...(where === 'local' && persistTo ? ['--persist-to', persistTo] : [])];
  wrangler(['r2', 'object', 'put', `${BUCKET}/models/${v}/model.onnx`, '--file', join(dir, manifest.files.model), '--content-type', 'application/octet-stream', ...flag], { dryRun });
  wrangler(['r2', 'object', 'put', `${BUCKET}/models/${v}/manifest.json`, '--file', join(dir, 'manifest.json'), '--content-type', 'application/json', ...flag], { dryRun });
  const summary = {
    items: manifest.dims.items,
    attributes: manifest.dims.attributes,
    neighbours: manifest.dims.neighbours,
    quantization: manifest.quantization,
    data: (manifest.training as { data?: unknown }).data,
    metrics: manifest.metrics,
    float_bytes: manifest.files.float_bytes,
  };
  const sql = registerSql({ version: v, sha256: manifest.files.sha256, bytes: manifest.files.bytes, summary }, Date.now());
  wrangler(['d1', 'execute', DB_NAME, ...flag, '--command', sql], { dryRun });
  return v;
}
