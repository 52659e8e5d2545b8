/**
 * Rows and queries the catalog module asked of D1 in this isolate, by purpose. Health reports
 * them; tests use them to show that a change reaches an isolate without a full catalog read.
 */
export type ReadPurpose = 'delta' | 'display' | 'build' | 'partial';

const stats: Record<ReadPurpose, { queries: number; rows: number }> = {
  delta: { queries: 0, rows: 0 },
  partial: { queries: 0, rows: 0 },
  display: { queries: 0, rows: 0 },
  build: { queries: 0, rows: 0 },
};

/** Count one D1 result (D1's own `meta.rows_read`). */
export function countRead(purpose: ReadPurpose, result: { meta?: { rows_read?: number } }): void {
  stats[purpose].queries += 1;
  stats[purpose].rows += result.meta?.rows_read ?? 0;
}

export function catalogReadStats(): Record<ReadPurpose, { queries: number; rows: number }> {
  return structuredClone(stats);
}
