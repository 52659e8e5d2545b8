/**
 * CSV (or TSV) with a header row naming the catalog fields (docs/catalog.md): item_id, title,
 * category, brand, price, image_url, url, tags ("|"-separated), in_stock, popularity.
 * Parsed by csv-parse's browser build (it carries its own Buffer shim, so it runs in workerd);
 * `tabularRows` is shared with the Merchant Center TSV parser (./gmc.ts).
 */
import { CsvError, parse } from 'csv-parse/browser/esm/sync';
import type { ErrorIssue } from '../../lib/errors';
import { FeedCollector, FeedError, given, type ParsedFeed } from './types';

export interface TabularRow {
  line: number;
  get(column: string): string | undefined;
}

/** Tab-separated when the header line has more tabs than commas. */
export function isTabSeparated(text: string): boolean {
  const header = text.slice(0, Math.max(0, text.indexOf('\n')) || text.length);
  return (header.match(/\t/g)?.length ?? 0) > (header.match(/,/g)?.length ?? 0);
}

/** Rows with the line each starts on; header names lower-cased, without a "g:" prefix. */
export function tabularRows(text: string, aliases: Record<string, string> = {}): { rows: TabularRow[]; columns: string[]; tabs: boolean } {
  const tabs = isTabSeparated(text);
  let records: { record: string[]; info: { lines: number; empty_lines: number } }[];
  try {
    records = parse(text, { bom: true, delimiter: tabs ? '\t' : ',', relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true }) as never;
  } catch (e) {
    if (e instanceof CsvError) throw new FeedError(e.message.replace(/^Invalid [^:]*: /, ''), (e as CsvError & { lines?: number }).lines ?? null);
    throw e;
  }
  if (!records.length) throw new FeedError('the feed is empty (a header row and at least one row are needed)', 1);
  const columns = records[0]!.record.map((h) => {
    const name = h.trim().toLowerCase().replace(/^g:/, '');
    return aliases[name] ?? name;
  });
  const index = new Map<string, number>();
  columns.forEach((c, i) => index.has(c) || index.set(c, i));
  // csv-parse counts the line a record ends on (a quoted value may span lines): a record starts
  // after the previous one's last line and the empty lines skipped in between.
  let prev = records[0]!.info;
  const rows = records.slice(1).map((r) => {
    const line = prev.lines + 1 + (r.info.empty_lines - prev.empty_lines);
    prev = r.info;
    return { line, get: (c: string) => (index.has(c) ? r.record[index.get(c)!] : undefined) };
  });
  return { rows, columns, tabs };
}

const ALIASES: Record<string, string> = { id: 'item_id', link: 'url', image: 'image_url', image_link: 'image_url' };
const TRUE = new Set(['true', '1', 'yes', 'y', 'in stock', 'in_stock']);
const FALSE = new Set(['false', '0', 'no', 'n', 'out of stock', 'out_of_stock']);

function num(row: TabularRow, field: string, issues: ErrorIssue[]): number | undefined {
  const v = given(row.get(field));
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) issues.push({ field, message: `"${v}" is not a number` });
  return Number.isFinite(x) ? x : undefined;
}

export function parseCsv(text: string): ParsedFeed {
  const { rows, columns, tabs } = tabularRows(text, ALIASES);
  for (const need of ['item_id', 'title']) if (!columns.includes(need)) throw new FeedError(`the header row has no "${need}" column (columns: ${columns.join(', ')})`, 1);
  const out = new FeedCollector((f) => f);
  for (const row of rows) {
    const issues: ErrorIssue[] = [];
    const stock = given(row.get('in_stock'))?.toLowerCase();
    if (stock !== undefined && !TRUE.has(stock) && !FALSE.has(stock)) issues.push({ field: 'in_stock', message: `"${stock}" is not true/false` });
    out.add(
      {
        item_id: given(row.get('item_id')),
        title: given(row.get('title')),
        category: given(row.get('category')) ?? null,
        brand: given(row.get('brand')) ?? null,
        price: num(row, 'price', issues) ?? null,
        image_url: given(row.get('image_url')) ?? null,
        url: given(row.get('url')) ?? null,
        tags: (row.get('tags') ?? '').split('|').map((t) => t.trim()).filter(Boolean),
        in_stock: stock === undefined ? true : TRUE.has(stock),
        popularity: num(row, 'popularity', issues),
      },
      issues,
      { line: row.line },
    );
  }
  return { format: 'csv', syntax: tabs ? 'tsv' : 'csv', items: out.items, rejected: out.rejected, rows: out.rows, complete: true };
}
