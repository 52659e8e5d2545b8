/** Writes a model artifact: model.onnx (int8 quantized graph) + manifest.json (ModelManifest). */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTEXT_DIM, CONTRACT_VERSION, type ModelManifest } from './contract';
import type { Dataset } from './dataset';
import { buildModel } from './graph';
import { quantize, type FloatParams, type QuantParams } from './params';
import type { TrainConfig } from './train';

export interface Exported {
  quantBytes: Uint8Array;
  floatBytes: Uint8Array;
  quant: QuantParams;
  manifest: ModelManifest;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function versionString(bytes: Uint8Array, now = new Date()): string {
  const d = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${d}-${sha256(bytes).slice(0, 8)}`;
}

export function exportModel(ds: Dataset, params: FloatParams, config: TrainConfig, training: Record<string, unknown>, metrics: Record<string, unknown> = {}, version?: string): Exported {
  const quant = quantize(params);
  const quantBytes = buildModel(quant);
  const floatBytes = buildModel(params);
  const manifest: ModelManifest = {
    contract: CONTRACT_VERSION,
    version: version ?? versionString(quantBytes),
    created_at: new Date().toISOString(),
    items: ds.itemIds,
    attributes: ds.attributes,
    dims: { items: params.n, attributes: params.a, context: CONTEXT_DIM, neighbours: params.k, max_item_attributes: params.t },
    files: { model: 'model.onnx', sha256: sha256(quantBytes), bytes: quantBytes.length, float_bytes: floatBytes.length },
    quantization: { weights: 'int8', scales: 'per-row' },
    training: {
      ...training,
      data: ds.summary,
      config,
      // How the trainer weighted history at evaluation time (the worker may use its own weights).
      history_weighting: { recency_decay: config.historyDecay, strength: 'event strength / 5 (view 1, click 2, add_to_cart 3, purchase 5)' },
    },
    metrics,
  };
  return { quantBytes, floatBytes, quant, manifest };
}

export function writeArtifact(dir: string, e: Exported, withFloat = false): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), e.quantBytes);
  if (withFloat) writeFileSync(join(dir, 'model.float.onnx'), e.floatBytes);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(e.manifest, null, 2) + '\n');
}

export function readArtifact(dir: string): { bytes: Uint8Array; manifest: ModelManifest } {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const bytes = new Uint8Array(readFileSync(join(dir, manifest.files.model)));
  if (sha256(bytes) !== manifest.files.sha256) throw new Error(`${dir}: sha256 of ${manifest.files.model} does not match the manifest`);
  return { bytes, manifest };
}
