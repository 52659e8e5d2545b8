/**
 * What every feed parser produces: catalog items in the admin API's shape (worker/schemas/catalog.ts),
 * and one rejection per bad row saying where it is (line in CSV/TSV/XML, index path in JSON) and what
 * is wrong, in the feed's own field names. Parsers run in workerd and in Node (the CLI): no Node APIs.
 */
import { z } from '@hono/zod-openapi';
import { CatalogItemSchema, type CatalogItemInput } from '../../schemas/catalog';
import type { ErrorIssue } from '../../lib/errors';

export const FEED_FORMATS = ['csv', 'gmc', 'shopify'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

export const FeedRejectionSchema = z
  .object({
    line: z.number().int().nullable().openapi({ description: 'Line of the row (CSV/TSV) or of its <item> element (XML); null for JSON' }),
    path: z.string().nullable().openapi({ description: 'Index path of the product in a JSON feed, e.g. products[12]' }),
    item_id: z.string().nullable(),
    issues: z.array(z.object({ field: z.string(), message: z.string() })),
  })
  .openapi('FeedRejection');
export type FeedRejection = z.infer<typeof FeedRejectionSchema>;

export interface ParsedFeed {
  format: FeedFormat;
  /** How the feed was written: csv and gmc feeds can be tab-separated, gmc also XML. */
  syntax: 'csv' | 'tsv' | 'xml' | 'json';
  items: CatalogItemInput[];
  rejected: FeedRejection[];
  /** Rows (products) seen, valid or not. */
  rows: number;
  /** False when the feed ended early (e.g. XML cut off inside an item): a full import then marks nothing removed. */
  complete: boolean;
}

/** The feed as a whole cannot be read (no header, not JSON, ...): nothing in it is used. */
export class FeedError extends Error {
  constructor(
    message: string,
    readonly line: number | null = null,
  ) {
    super(line === null ? message : `line ${line}: ${message}`);
    this.name = 'FeedError';
  }
}

export interface Where {
  line?: number;
  path?: string;
}

/**
 * Collects rows: a candidate is validated with the catalog schema; mapping issues found by the
 * parser, schema issues and duplicate ids reject the row. `fieldName` turns a schema field into
 * the feed's own name (item_id → g:id) so the report speaks the feed's language.
 */
export class FeedCollector {
  readonly items: CatalogItemInput[] = [];
  readonly rejected: FeedRejection[] = [];
  rows = 0;
  private readonly seen = new Map<string, string>();

  constructor(private readonly fieldName: (field: string) => string) {}

  /** A row that is not a row at all (not an object): only the parser's own issue. */
  reject(issues: ErrorIssue[], where: Where): void {
    this.rows++;
    this.rejected.push({ line: where.line ?? null, path: where.path ?? null, item_id: null, issues });
  }

  add(candidate: Record<string, unknown>, issues: ErrorIssue[], where: Where): void {
    this.rows++;
    const id = typeof candidate.item_id === 'string' && candidate.item_id.trim() ? candidate.item_id.trim() : null;
    const all = [...issues];
    const p = CatalogItemSchema.safeParse(candidate);
    if (!p.success) {
      for (const i of p.error.issues) {
        const field = this.fieldName(String(i.path[0] ?? '(row)')) + i.path.slice(1).map((s) => `.${String(s)}`).join('');
        const message = i.code === 'invalid_type' && / undefined$/.test(i.message) ? 'is missing' : i.message;
        if (!all.some((a) => a.field === field)) all.push({ field, message });
      }
    }
    const at = where.line !== undefined ? `line ${where.line}` : (where.path ?? '?');
    if (id && !all.length) {
      const first = this.seen.get(id);
      if (first) all.push({ field: this.fieldName('item_id'), message: `duplicate id "${id}" (first at ${first})` });
      else this.seen.set(id, at);
    }
    if (all.length || !p.success) this.rejected.push({ line: where.line ?? null, path: where.path ?? null, item_id: id, issues: all });
    else this.items.push(p.data);
  }
}

/** "12.99 USD", "USD 12.99", "12,99 EUR", "1,299.00 USD" → 12.99 / 1299; undefined for anything else. */
export function parsePrice(raw: string): number | undefined {
  const m = /^\s*(?:[A-Z]{3}\s+)?([0-9][0-9.,]*)\s*(?:[A-Z]{3})?\s*$/.exec(raw);
  if (!m) return undefined;
  let n = m[1]!;
  if (n.includes(',') && n.includes('.')) n = n.replace(/,/g, '');
  else if (/,\d{1,2}$/.test(n)) n = n.replace(',', '.');
  else n = n.replace(/,/g, '');
  const x = Number(n);
  return Number.isFinite(x) ? x : undefined;
}

/** Empty cells are "not given". */
export function given(v: string | undefined | null): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}
