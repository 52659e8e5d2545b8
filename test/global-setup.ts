/**
 * Before the worker suite: train a small model with the real pipeline (model/) on generated
 * demo data, and hand it to the tests, which publish it to local R2 and D1 themselves.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { prepareDemo } from '../scripts/lib/demo';
import { catalogFromFiles } from '../scripts/seed';

export default async function setup(project: TestProject) {
  const dir = resolve(import.meta.dirname, '../.tmp/test-model');
  mkdirSync(dir, { recursive: true });
  const demo = await prepareDemo({ dir, items: 400, publish: false, tune: false });
  const { items } = catalogFromFiles(demo.itemsFile, demo.eventsFile);
  project.provide('demoModel', {
    onnxBase64: readFileSync(join(demo.modelDir, 'model.onnx')).toString('base64'),
    manifest: readFileSync(join(demo.modelDir, 'manifest.json'), 'utf8'),
    catalog: JSON.stringify(items),
  });
}
