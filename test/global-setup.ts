/**
 * Before the worker suite: train a small model with the real pipeline (model/) on generated
 * demo data, and hand it to the tests, which publish it to local R2 and D1 themselves.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { readArtifact } from '../model/artifact';
import { F } from '../model/contract';
import { uploadOrder } from '../model/publish';
import { buildRankModel } from '../model/rank/graph';
import { prepareDemo } from '../scripts/lib/demo';
import { catalogFromFiles } from '../scripts/seed';

export default async function setup(project: TestProject) {
  const dir = resolve(import.meta.dirname, '../.tmp/test-model');
  mkdirSync(dir, { recursive: true });
  const demo = await prepareDemo({ dir, items: 400, publish: false, tune: false });
  const { items } = catalogFromFiles(demo.itemsFile, demo.eventsFile);
  const files = uploadOrder(readArtifact(demo.modelDir));
  project.provide('demoModel', {
    files: Object.fromEntries(files.map((f) => [f.name, Buffer.from(f.bytes).toString('base64')])),
    // A rank graph that loads but cannot run on the contract's features (one weight too many).
    brokenRankBase64: Buffer.from(buildRankModel(new Float32Array(F + 1).fill(1))).toString('base64'),
    catalog: JSON.stringify(items),
  });
}
