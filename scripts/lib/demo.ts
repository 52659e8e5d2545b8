/**
 * The demo pipeline used by `npm start`, `npm run bench` and the test suite: generate a demo
 * catalog and history, train a model on it with model/, and (optionally) publish it.
 * It runs the same CLIs a data person runs, so the demo exercises the real pipeline.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readItems } from '../../model/io';
import { publish } from '../../model/publish';
import { parseEnvironment, resolveTarget } from '../../model/target';
import { ROOT, type Target } from './wrangler';

export interface Demo {
  itemsFile: string;
  eventsFile: string;
  modelDir: string;
  version: string;
  itemIds: string[];
}

function tsx(script: string, args: string[]): void {
  const r = spawnSync(resolve(ROOT, 'node_modules/.bin/tsx'), [resolve(ROOT, script), ...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} failed with exit code ${r.status}`);
}

/**
 * `data`: the small demo shop (default; `npm start`, tests), or a large synthetic store with five
 * events per item (model/synthetic.ts; `npm run bench` at 100k items and more).
 */
export async function prepareDemo(o: { dir: string; items: number; target?: Target; publish?: boolean; tune?: boolean; data?: 'demo' | 'synthetic' }): Promise<Demo> {
  const itemsFile = join(o.dir, 'items.csv');
  const eventsFile = join(o.dir, 'events.csv');
  const modelDir = join(o.dir, 'model');
  if (o.data === 'synthetic') tsx('model/cli/synthetic.ts', ['--out', o.dir, '--items', String(o.items), '--events', String(5 * o.items)]);
  else tsx('model/cli/demo.ts', ['--out', o.dir, '--items', String(o.items)]);
  tsx('model/cli/train.ts', ['--events', eventsFile, '--items', itemsFile, '--out', modelDir, ...(o.tune === false ? ['--no-tune'] : [])]);
  const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')) as { version: string };
  if (o.publish !== false) await publish(modelDir, await resolveTarget(parseEnvironment(o.target?.env)), { persistTo: o.target?.persistTo });
  if (!existsSync(join(modelDir, 'rank.onnx'))) throw new Error(`training wrote no model to ${modelDir}`);
  return { itemsFile, eventsFile, modelDir, version: manifest.version, itemIds: readItems(itemsFile).rows.map((r) => r.id) };
}
