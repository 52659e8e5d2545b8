/** One forward pass of the active model under the contract in docs/model-contract.md. */
import { INPUTS, MASKED_SCORE, OUTPUTS } from '../../model/contract';
import type { ModelInputs } from '../ranking/history';
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
/** A holder older than this was cancelled mid-run (a run takes about a millisecond). */
const STALE_MS = 2000;

async function acquire(): Promise<void> {
  while (busySince && Date.now() - busySince < STALE_MS) await new Promise((r) => setTimeout(r, 0));
  busySince = Date.now();
}

export function score(model: LoadedModel, inputs: ModelInputs, mask: Float32Array, k: number): Promise<Scored[]> {
  const n = model.manifest.dims.items;
  const kk = Math.max(1, Math.min(k, n));
  const feeds = {
    [INPUTS.histItems]: new ort.Tensor('int64', BigInt64Array.from(inputs.histItems, BigInt), [inputs.histItems.length]),
    [INPUTS.histWeights]: new ort.Tensor('float32', Float32Array.from(inputs.histWeights), [inputs.histWeights.length]),
    [INPUTS.userAttrs]: new ort.Tensor('float32', inputs.userAttrs, [inputs.userAttrs.length]),
    [INPUTS.context]: new ort.Tensor('float32', inputs.context, [inputs.context.length]),
    [INPUTS.itemMask]: new ort.Tensor('float32', mask, [n]),
    [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(BigInt(kk)), [1]),
  };
  return (async () => {
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
    for (let i = 0; i < idx.length; i++) if (sc[i]! > MASKED_SCORE / 2) res.push({ index: Number(idx[i]), score: sc[i]! });
    return res;
  })();
}
