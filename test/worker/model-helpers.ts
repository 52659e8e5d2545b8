/** Publishing models in tests the way `npm run model:publish` does: R2 artifact + D1 registry row. */
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import { adminJson } from './helpers';

export function demoModel(): { onnx: Uint8Array; manifest: any; catalog: any[] } {
  const m = inject('demoModel');
  const bin = atob(m.onnxBase64);
  const onnx = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return { onnx, manifest: JSON.parse(m.manifest), catalog: JSON.parse(m.catalog) };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Upload and register; `registrySha` lets a test register a checksum that does not match. */
export async function registerModel(version: string, onnx: Uint8Array, manifest: any, opts: { registrySha?: string } = {}): Promise<void> {
  const sha = await sha256Hex(onnx);
  const m = { ...manifest, version, files: { ...manifest.files, model: 'model.onnx', sha256: sha, bytes: onnx.byteLength } };
  const prefix = `models/${version}/`;
  await env.MODELS.put(`${prefix}model.onnx`, onnx);
  await env.MODELS.put(`${prefix}manifest.json`, JSON.stringify(m));
  await env.DB.prepare('INSERT INTO models (version, r2_prefix, sha256, bytes, status, created_at, summary) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .bind(version, prefix, opts.registrySha ?? sha, onnx.byteLength, 'registered', Date.now(), '{}')
    .run();
}

export async function activate(version: string): Promise<Response> {
  return adminJson(`/v1/admin/models/${version}/activate`, 'POST');
}
