/** Which tags mark an item as a deal; kept as one bit per item so segments need no display fields. */
const DEAL_TAGS = new Set(['sale', 'deal', 'deals', 'discount', 'clearance', 'promo', 'offer']);

export function isDeal(tags: readonly string[] | null | undefined): boolean {
  return !!tags?.some((t) => DEAL_TAGS.has(t.toLowerCase()));
}
