/** One run of a model's rank graph (docs/model-contract.md): the top `k` candidate rows, best first. */
import { F, INPUTS, OUTPUTS } from '../../model/contract';
import type { LoadedModel } from './model-store';
import { ort } from './ort';

export interface Scored {
  index: number;
  score: number;
}

// ORT's WASM session runs one call at a time. The lock is taken and waited for inside each
// request (timers, not a promise chain across requests): a request cancelled while its run was
// pending would otherwise leave every later request awaiting a promise that never completes.
let busySince = 0;
/** A holder older than this was cancelled mid-run (a run takes well under a millisecond). */
const STALE_MS = 2000;

async function acquire(): Promise<void> {
  while (busySince && Date.now() - busySince < STALE_MS) await new Promise((r) => setTimeout(r, 0));
  busySince = Date.now();
}

export async function rank(model: LoadedModel, features: Float32Array, rows: number, k: number): Promise<Scored[]> {
  if (rows === 0) return [];
  const feeds = {
    [INPUTS.features]: new ort.Tensor('float32', features, [rows, F]),
    [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.max(1, Math.min(k, rows)))), [1]),
  };
  await acquire();
  let out;
  try {
    out = await model.session.run(feeds);
  } finally {
    busySince = 0;
  }
  const idx = out[OUTPUTS.topIndices]!.data as BigInt64Array;
  const sc = out[OUTPUTS.topScores]!.data as Float32Array;
  const res: Scored[] = [];
  for (let i = 0; i < idx.length; i++) res.push({ index: Number(idx[i]), score: sc[i]! });
  return res;
}
