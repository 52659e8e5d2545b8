/**
 * A 64-bit fingerprint of an item id, as two uint32 halves (no BigInt on the lookup path). The
 * snapshot stores fingerprints instead of ids: id -> row is a search over two Uint32Arrays.
 * Two ids colliding is ~3e-8 likely at 1M items; the builder then retries with another seed.
 */

/** The low half of the last fingerprint() call (avoids an array per lookup). */
export let fpLo = 0;

/** High half of the fingerprint of `id` under `seed`; the low half is left in `fpLo`. */
export function fingerprint(id: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  fpLo = h1 >>> 0;
  return h2 >>> 0;
}
