/**
 * A model version's files (contract v2, docs/model-contract.md): manifest.json, rank.onnx,
 * lists.json and neighbours/<s>.bin, each checksummed in the manifest.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT_VERSION, F, FEATURES, FILES, type ModelManifest, shardFile } from './contract';
import type { Dataset } from './dataset';
import { MAX_HISTORY, weightsByName } from './rank/fit';
import { buildRankModel } from './rank/graph';
import { LIST_SIZES, retrievalData, type RetrievalData, type TrainSeqs } from './rank/retrieval-data';
import { encodeShards } from './rank/shard-set';
import type { TrainConfig } from './train';

export interface Exported {
  manifest: ModelManifest;
  rank: Uint8Array;
  lists: Uint8Array;
  shards: Uint8Array[];
  retrieval: RetrievalData;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function versionString(bytes: Uint8Array, now = new Date()): string {
  const d = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${d}-${sha256(bytes).slice(0, 8)}`;
}

export interface ExportInput {
  ds: Dataset;
  data: TrainSeqs;
  config: TrainConfig;
  weights: Float32Array;
  training: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  version?: string;
  progress?: (phase: string, d: number, t: number) => void;
  retrieval?: RetrievalData;
}

export function exportModel(x: ExportInput): Exported {
  const rd = x.retrieval ?? retrievalData(x.ds, x.data, x.config, { progress: x.progress });
  const shards = encodeShards(rd, x.ds, (d, t) => x.progress?.('neighbour shards', d, t));
  const rank = buildRankModel(x.weights);
  const lists = new TextEncoder().encode(JSON.stringify(rd.lists));
  const h = createHash('sha256');
  for (const s of shards) h.update(s);
  h.update(rank);
  h.update(lists);
  const digest = new Uint8Array(h.digest());
  const shardFiles = shards.map((s) => ({ sha256: sha256(s), bytes: s.length }));
  const total = rank.length + lists.length + shardFiles.reduce((s, f) => s + f.bytes, 0);
  const manifest: ModelManifest = {
    contract: CONTRACT_VERSION,
    version: x.version ?? versionString(digest),
    created_at: new Date().toISOString(),
    dims: { items: x.ds.items.length, features: F, neighbours: rd.k, content_neighbours: rd.kc, shards: shards.length },
    features: FEATURES,
    weights: weightsByName(x.weights),
    files: {
      model: FILES.rank,
      sha256: sha256(rank),
      bytes: rank.length,
      lists: { name: FILES.lists, sha256: sha256(lists), bytes: lists.length },
      shards: shardFiles,
      total_bytes: total,
    },
    retrieval: { history_decay: x.config.historyDecay, max_history: MAX_HISTORY, popular: LIST_SIZES.popular, trending: LIST_SIZES.trending, category_popular: LIST_SIZES.categoryPopular },
    quantization: { neighbour_weights: 'int8', scales: 'per-list' },
    training: { ...x.training, data: x.ds.summary, config: x.config },
    metrics: x.metrics ?? {},
  };
  return { manifest, rank, lists, shards, retrieval: rd };
}

export function manifestBytes(m: ModelManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m, null, 2) + '\n');
}

export function writeArtifact(dir: string, e: Exported): void {
  rmSync(join(dir, FILES.shardDir), { recursive: true, force: true });
  mkdirSync(join(dir, FILES.shardDir), { recursive: true });
  writeFileSync(join(dir, FILES.rank), e.rank);
  writeFileSync(join(dir, FILES.lists), e.lists);
  e.shards.forEach((s, i) => writeFileSync(join(dir, shardFile(i)), s));
  // The manifest last: a folder without one is an unfinished export.
  writeFileSync(join(dir, FILES.manifest), manifestBytes(e.manifest));
}

export interface ReadArtifact {
  manifest: ModelManifest;
  manifestBytes: Uint8Array;
  rank: Uint8Array;
  lists: Uint8Array;
  shards: Uint8Array[];
}

/** Reads a model folder and verifies every file against the manifest. */
export function readArtifact(dir: string): ReadArtifact {
  const mb = new Uint8Array(readFileSync(join(dir, FILES.manifest)));
  const manifest = JSON.parse(new TextDecoder().decode(mb)) as ModelManifest;
  if (manifest.contract !== CONTRACT_VERSION) throw new Error(`${dir}: model contract ${manifest.contract}, this pipeline reads ${CONTRACT_VERSION}`);
  const check = (name: string, want: string) => {
    const b = new Uint8Array(readFileSync(join(dir, name)));
    if (sha256(b) !== want) throw new Error(`${dir}: sha256 of ${name} does not match the manifest`);
    return b;
  };
  const rank = check(manifest.files.model, manifest.files.sha256);
  const lists = check(manifest.files.lists.name, manifest.files.lists.sha256);
  const shards = manifest.files.shards.map((s, i) => check(shardFile(i), s.sha256));
  return { manifest, manifestBytes: mb, rank, lists, shards };
}
