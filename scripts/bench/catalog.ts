/**
 * The serving catalog's memory and speed at 10k / 100k / 1M synthetic items, in Node (V8, as in
 * workerd): snapshot bytes, build and load time, JS heap and ArrayBuffer bytes of a loaded
 * snapshot, id -> facts cost, and a popularity query. For comparison: a Map<string, number> from
 * the same ids, the per-isolate structure the snapshot avoids.
 *
 *   npm run bench:catalog [-- --sizes 10000,100000,1000000 --no-write]
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CatalogView } from '../../worker/catalog/catalog-view';
import { fingerprint, fpLo } from '../../worker/catalog/fingerprint';
import { decodeSnapshot } from '../../worker/catalog/format';
import { findRow } from '../../worker/catalog/row-index';
import { sha256Hex } from '../../worker/lib/digest';
import { SnapshotWriter } from '../../worker/catalog/snapshot-writer';
import { machine, writeSection } from '../lib/report';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000,1000000' }, 'no-write': { type: 'boolean', default: false } } });
const sizes = values.sizes.split(',').map(Number);

const id = (i: number) => `sku-${String(i).padStart(7, '0')}`;
const mib = (b: number) => (b / 1048576).toFixed(1);

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

/** µs per call: the best of 3 passes (the machine is shared; the best pass is the least disturbed). */
function timePer(fn: (i: number) => unknown, n: number): number {
  return Math.min(onePass(fn, n), onePass(fn, n), onePass(fn, n));
}

function onePass(fn: (i: number) => unknown, n: number): number {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (fn(i)) sink++;
  const ms = performance.now() - t0;
  if (sink < 0) console.log(sink);
  return (ms * 1000) / n; // µs per call
}

interface Row {
  n: number;
  bytes: number;
  buildMs: number;
  shaMs: number;
  loadMs: number;
  heapMiB: number;
  bufMiB: number;
  mapHeapMiB: number;
  factsUs: number;
  rowUs: number;
  plainUs: number;
  missUs: number;
  popularMs: number;
}

async function bench(n: number): Promise<Row> {
  const categories = Math.max(10, Math.round(n / 2000));
  const brands = Math.max(20, Math.round(n / 200));
  let t0 = performance.now();
  const w = new SnapshotWriter(0x9e3779b9);
  for (let i = 0; i < n; i++) {
    w.add({
      id: id(i),
      category: `category-${i % categories}`,
      brand: `brand-${(i * 7) % brands}`,
      price: i % 10 ? 5 + (i % 500) + 0.99 : null,
      inStock: i % 13 !== 0,
      tags: i % 9 ? [] : ['sale'],
      popularity: ((i * 2654435761) >>> 0) % 100000,
    });
  }
  const bytes = w.finish();
  const buildMs = performance.now() - t0;

  t0 = performance.now();
  await sha256Hex(bytes);
  const shaMs = performance.now() - t0;

  // Load as an isolate does: the object's bytes arrive as one ArrayBuffer, then views over it.
  const before = settle();
  const buf = bytes.slice().buffer;
  t0 = performance.now();
  const view = CatalogView.fromSnapshot('bench', 0, decodeSnapshot(buf));
  const loadMs = performance.now() - t0;
  const after = settle();

  const lookups = Math.min(n, 200_000);
  const ids = Array.from({ length: lookups }, (_, i) => id(((i * 7919) >>> 0) % n));
  const misses = Array.from({ length: lookups }, (_, i) => `missing-${i}`);
  const cols = decodeSnapshot(buf);
  const factsUs = timePer((i) => view.facts(ids[i]!), lookups);
  const rowUs = timePer((i) => view.row(ids[i]!), lookups);
  const plainUs = timePer((i) => findRow(cols.fpHi, cols.fpLo, null, fingerprint(ids[i]!, cols.header.seed), fpLo), lookups);
  const missUs = timePer((i) => view.facts(misses[i]!), lookups);

  const ok = (f: { inStock: boolean; price: number | null }) => f.inStock && f.price !== null && f.price < 200;
  view.popular(32, ok);
  t0 = performance.now();
  for (let i = 0; i < 100; i++) view.popular(32, ok, `category-${i % categories}`);
  const popularMs = (performance.now() - t0) / 100;

  // Reference: the id map the snapshot replaces.
  const m0 = settle();
  const map = new Map<string, number>();
  for (let i = 0; i < n; i++) map.set(id(i), i);
  const m1 = settle();
  if (map.size !== n) throw new Error('map');

  return {
    n,
    bytes: bytes.byteLength,
    buildMs,
    shaMs,
    loadMs,
    heapMiB: (after.heapUsed - before.heapUsed) / 1048576,
    bufMiB: (after.arrayBuffers - before.arrayBuffers) / 1048576,
    mapHeapMiB: (m1.heapUsed - m0.heapUsed) / 1048576,
    factsUs,
    rowUs,
    plainUs,
    missUs,
    popularMs,
  };
}

const rows: Row[] = [];
for (const n of sizes) {
  rows.push(await bench(n));
  const r = rows[rows.length - 1]!;
  console.log(`${r.n} items: ${mib(r.bytes)} MiB snapshot, load ${r.loadMs.toFixed(1)} ms, heap +${r.heapMiB.toFixed(1)} MiB, buffers +${r.bufMiB.toFixed(1)} MiB, facts ${r.factsUs.toFixed(2)} µs`);
  gc();
}

const table = [
  '| items | snapshot | build | sha256 | load (parse + views + prefix table) | JS heap after load | ArrayBuffers after load | facts(id) | row(id) | plain binary search | miss | popular(32, filter, category) | Map<string, number> of the ids (reference) |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.n.toLocaleString('en-US')} | ${mib(r.bytes)} MiB | ${r.buildMs.toFixed(0)} ms | ${r.shaMs.toFixed(0)} ms | ${r.loadMs.toFixed(1)} ms | +${r.heapMiB.toFixed(2)} MiB | +${r.bufMiB.toFixed(1)} MiB | ${r.factsUs.toFixed(2)} µs | ${r.rowUs.toFixed(2)} µs | ${r.plainUs.toFixed(2)} µs | ${r.missUs.toFixed(2)} µs | ${r.popularMs.toFixed(3)} ms | +${r.mapHeapMiB.toFixed(1)} MiB |`,
  ),
].join('\n');
console.log(`\n${table}`);

if (!values['no-write']) {
  writeSection(
    'catalog',
    `## Serving catalog (\`npm run bench:catalog\`)

Synthetic items (\`sku-0000001\`…, one category per 2,000 items, one brand per 200), built with the worker's own
snapshot writer and loaded with its own reader in Node (V8, the engine workerd runs). "JS heap" and
"ArrayBuffers" are \`process.memoryUsage()\` deltas after a full GC around the load (the ArrayBuffer is the
snapshot's bytes as R2 hands them over; the heap figure is what the views, dictionaries and the 256 KiB prefix
table add). Lookups: 200,000 existing ids (\`facts\` builds the ItemFacts object, \`row\` only finds the row;
"plain binary search" is \`row\` without the prefix table) and 200,000 absent ids, best of 3 passes (shared machine). The last column is the
\`Map<string, number>\` from the same ids that a per-isolate id index would cost. ${machine()}.

${table}`,
  );
  console.log('\nwritten to docs/benchmarks.md (section "catalog")');
}
