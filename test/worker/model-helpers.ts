/** Publishing models in tests the way `npm run model:publish` does: R2 files (manifest last) + D1 registry row. */
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import { sha256Hex } from '../../worker/lib/digest';
import { adminJson } from './helpers';

const fromBase64 = (b: string) => Uint8Array.from(atob(b), (ch) => ch.charCodeAt(0));

export interface DemoModel {
  /** the rank graph (rank.onnx) */
  onnx: Uint8Array;
  manifest: any;
  /** every file of the version by name (neighbours/<s>.bin, lists.json, rank.onnx, manifest.json) */
  files: Record<string, Uint8Array>;
  /** a rank graph that loads but cannot run on the contract's features */
  brokenRank: Uint8Array;
  catalog: any[];
}

export function demoModel(): DemoModel {
  const m = inject('demoModel');
  const files = Object.fromEntries(Object.entries(m.files).map(([k, v]) => [k, fromBase64(v)]));
  const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json']));
  return { onnx: files['rank.onnx']!, manifest, files, brokenRank: fromBase64(m.brokenRankBase64), catalog: JSON.parse(m.catalog) };
}


/**
 * Upload and register `version` with the demo model's shards and lists, `rank` as its rank graph
 * and `manifest` (its checksums recomputed for what is uploaded). `registrySha` registers a
 * checksum that does not match; `omit` leaves files out, as an upload that stopped half-way.
 */
export async function registerModel(version: string, rank: Uint8Array, manifest: any, opts: { registrySha?: string; omit?: string[] } = {}): Promise<void> {
  const demo = demoModel();
  const prefix = `models/${version}/`;
  const m = { ...manifest, version, files: { ...manifest.files, model: 'rank.onnx', sha256: await sha256Hex(rank), bytes: rank.byteLength } };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(m));
  const files: Record<string, Uint8Array> = { ...demo.files, 'rank.onnx': rank, 'manifest.json': manifestBytes };
  for (const [name, bytes] of Object.entries(files)) if (name !== 'manifest.json' && !opts.omit?.includes(name)) await env.MODELS.put(`${prefix}${name}`, bytes, { sha256: await sha256Hex(bytes) });
  await env.MODELS.put(`${prefix}manifest.json`, manifestBytes);
  await env.DB.prepare('INSERT INTO models (version, r2_prefix, sha256, bytes, status, created_at, summary) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .bind(version, prefix, opts.registrySha ?? (await sha256Hex(manifestBytes)), rank.byteLength, 'registered', Date.now(), '{}')
    .run();
}

export async function activate(version: string): Promise<Response> {
  return adminJson(`/v1/admin/models/${version}/activate`, 'POST');
}
