import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset, type Dataset } from '../../model/dataset';
import { generateDemo } from '../../model/demo-data';
import { evaluate, evaluateBaselines } from '../../model/evaluate';
import { parseEvents, parseItems } from '../../model/io';
import { rng } from '../../model/train';

/** Independent, deliberately naive implementation of the protocol for Pop and ItemKNN. */
function bruteForce(ds: Dataset, drop: number) {
  const n = ds.items.length;
  const train = ds.seqs.map((s) => Array.from(s.slice(0, Math.max(0, s.length - drop))));
  const has = train.map((t) => new Set(t));
  const cnt = Array.from({ length: n }, (_, i) => has.filter((h) => h.has(i)).length);
  const cos = (i: number, j: number) => {
    let c = 0;
    for (const h of has) if (h.has(i) && h.has(j)) c++;
    return c / (Math.sqrt(cnt[i]! * cnt[j]!) + 10);
  };
  const sim = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : cos(i, j))));
  const res = { pop: [0, 0, 0, 0], itemknn: [0, 0, 0, 0] };
  ds.seqs.forEach((s, u) => {
    if (s.length < drop + 1) return;
    const target = s[s.length - drop]!;
    for (const [name, score] of [['pop', (i: number) => cnt[i]!], ['itemknn', (i: number) => train[u]!.reduce((acc, h) => acc + sim[h]![i]!, 0)]] as const) {
      const ranked = Array.from({ length: n }, (_, i) => i)
        .filter((i) => !has[u]!.has(i))
        .sort((a, b) => score(b) - score(a) || a - b);
      const rank = ranked.indexOf(target);
      const m = res[name];
      m[0]!++;
      if (rank >= 0 && rank < 10) {
        m[1]! += 1;
        m[2]! += 1 / Math.log2(rank + 2);
        m[3]! += 1 / (rank + 1);
      }
    }
  });
  const f = (m: number[]) => ({ users: m[0]!, hr: m[1]! / m[0]!, ndcg: m[2]! / m[0]!, mrr: m[3]! / m[0]! });
  return { pop: f(res.pop), itemknn: f(res.itemknn) };
}

function randomFixture(seed: number, users: number, items: number): Dataset {
  const r = rng(seed);
  const lines = ['user_id,item_id,timestamp'];
  for (let u = 0; u < users; u++) {
    const len = 3 + Math.floor(r() * 8);
    const base = Math.floor(r() * items);
    for (let p = 0; p < len; p++) {
      const item = r() < 0.7 ? (base + Math.floor(r() * 6)) % items : Math.floor(r() * items);
      // coarse timestamps create ties, broken by item id
      lines.push(`u${u},${item + 1},${Math.floor(p / 2)}`);
    }
  }
  const itemLines = ['item_id', ...Array.from({ length: items }, (_, i) => String(i + 1))];
  return buildDataset(parseEvents(lines.join('\n'), 'e.csv').rows, parseItems(itemLines.join('\n'), 'i.csv').rows);
}

describe('evaluator: Pop and ItemKNN under the shared protocol', () => {
  it('matches hand-computed values on a 3-user fixture', () => {
    const ds = buildDataset(
      parseEvents('user_id,item_id,timestamp\nu1,a,1\nu1,b,2\nu1,c,3\nu2,a,1\nu2,b,2\nu3,b,1\nu3,c,2\nu3,d,3\n', 'e.csv').rows,
      parseItems('item_id\na\nb\nc\nd\n', 'i.csv').rows,
    );
    const t = evaluateBaselines(ds, 1);
    // Pop counts a2 b2 c1 d0: u1 -> c rank 0, u2 -> b rank 0, u3 -> [a, d]: d rank 1
    // ItemKNN: cos(a,b)=1/12, cos(b,c)=1/(sqrt 2 + 10): same ranks
    for (const m of [t.pop, t.itemknn]) {
      expect(m.hr).toBeCloseTo(1, 10);
      expect(m.ndcg).toBeCloseTo((2 + 1 / Math.log2(3)) / 3, 10);
      expect(m.mrr).toBeCloseTo(2.5 / 3, 10);
    }
  });

  it('agrees exactly with an independent brute-force implementation (test and validation steps)', () => {
    const ds = randomFixture(9, 150, 60);
    for (const drop of [1, 2] as const) {
      const got = evaluateBaselines(ds, drop);
      const want = bruteForce(ds, drop);
      for (const k of ['pop', 'itemknn'] as const) {
        expect(got[k].users).toBe(want[k].users);
        expect(got[k].hr).toBeCloseTo(want[k].hr, 12);
        expect(got[k].ndcg).toBeCloseTo(want[k].ndcg, 12);
        expect(got[k].mrr).toBeCloseTo(want[k].mrr, 12);
      }
    }
  });
  // On the real Beauty and ML-100K files (outside the repo): `npm run model:reference`.
});

describe('evaluate(): train, export, retrieve from the int8 shards and rank through onnxruntime-web', () => {
  it('runs end to end on demo data and writes predictions', async () => {
    const d = generateDemo({ items: 400, users: 500, seed: 13 });
    const ds = buildDataset(d.events, d.items);
    const dir = mkdtempSync(join(tmpdir(), 'p13n-test-'));
    try {
      const pred = join(dir, 'pred.jsonl');
      const r = await evaluate(ds, { seed: 1, tuneSample: 300, predictions: pred, validationBaselines: true, outDir: join(dir, 'model'), log: () => undefined });
      const lines = readFileSync(pred, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user_id: string; items: string[] });
      expect(lines).toHaveLength(r.split.test_users);
      expect(lines[0]!.items).toHaveLength(10);
      expect(r.test.model!.all.ndcg).toBeGreaterThan(r.test.pop!.all.ndcg);
      expect(Math.abs(r.quantized_vs_float_ndcg_rel_diff!)).toBeLessThan(0.02);
      expect(existsSync(join(dir, 'model/rank.onnx')) && existsSync(join(dir, 'model/manifest.json'))).toBe(true);
      // the same artifact evaluated with --model gives the same test numbers
      const { readArtifact } = await import('../../model/artifact');
      const again = await evaluate(ds, { model: readArtifact(join(dir, 'model')), log: () => undefined });
      expect(again.test.model!.all).toEqual(r.test.model!.all);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('evaluate(): the whole training history is masked', () => {
  it('excludes history items older than the 64 the retrieval stage reads (a 251-item history whose oldest item is the most popular)', async () => {
    const ev = ['user_id,item_id,timestamp'];
    // "long": the most popular item first, then 250 items of its own, then the test target
    ev.push('long,hot,0');
    for (let p = 1; p <= 250; p++) ev.push(`long,h${p},${p}`);
    ev.push('long,target,251');
    for (let u = 0; u < 60; u++) ev.push(`o${u},hot,0`, `o${u},x${u % 20},1`);
    const items = ['item_id', 'hot', 'target', ...Array.from({ length: 250 }, (_, p) => `h${p + 1}`), ...Array.from({ length: 20 }, (_, x) => `x${x}`)];
    const ds = buildDataset(parseEvents(ev.join('\n'), 'e.csv').rows, parseItems(items.join('\n'), 'i.csv').rows);
    const dir = mkdtempSync(join(tmpdir(), 'p13n-mask-'));
    try {
      const pred = join(dir, 'pred.jsonl');
      await evaluate(ds, { noTune: true, config: { popWeight: 1 }, float: false, predictions: pred, log: () => undefined });
      const lines = readFileSync(pred, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user_id: string; items: string[] });
      const long = lines.find((l) => l.user_id === 'long')!;
      const history = new Set(['hot', ...Array.from({ length: 250 }, (_, p) => `h${p + 1}`)]);
      expect(long.items).toHaveLength(10);
      expect(long.items.filter((i) => history.has(i))).toEqual([]);
      // every other user: nothing of their own history either
      for (const l of lines) if (l.user_id !== 'long') expect(l.items).not.toContain('hot');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
