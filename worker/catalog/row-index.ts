/**
 * id fingerprint -> snapshot row. Rows are sorted by (fpHi, fpLo); a table of where each value of
 * fpHi's top 16 bits starts narrows the binary search to a handful of rows (~15 at 1M items).
 */

/** Start row of each 16-bit prefix of fpHi (65,537 entries, 256 KiB), built in one pass at load. */
export function prefixStarts(fpHi: Uint32Array): Uint32Array {
  const starts = new Uint32Array(65537);
  for (let r = 0; r < fpHi.length; r++) starts[(fpHi[r]! >>> 16) + 1]!++;
  for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
  return starts;
}

/** The row with fingerprint (hi, lo), or -1. Without `starts`, a plain binary search over all rows. */
export function findRow(fpHi: Uint32Array, fpLo: Uint32Array, starts: Uint32Array | null, hi: number, lo: number): number {
  let a = starts ? starts[hi >>> 16]! : 0;
  let b = starts ? starts[(hi >>> 16) + 1]! : fpHi.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    const h = fpHi[m]!;
    if (h < hi || (h === hi && fpLo[m]! < lo)) a = m + 1;
    else b = m;
  }
  return a < fpHi.length && fpHi[a] === hi && fpLo[a] === lo ? a : -1;
}
