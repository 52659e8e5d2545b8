/** FNV-1a, 32 bit, over UTF-16 code units: a stable, fast hash (not for secrets), the same in Node and workerd. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
