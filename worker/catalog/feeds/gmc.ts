/**
 * Google Merchant Center product feeds: XML (RSS 2.0 <item>s or Atom <entry>s with the g: namespace)
 * and TSV (header row of attribute names). One catalog item per g:id, as Merchant Center lists them:
 * with item_group_id each variant is its own item, because that id is the one Shopping ads and
 * storefront tags report. Field mapping (docs/catalog.md):
 *   id → item_id, title, link → url, image_link → image_url, brand,
 *   price ("12.99 USD"; sale_price when lower, tagged "sale") → price,
 *   availability (in stock | out of stock | preorder | backorder) → in_stock (out of stock → false),
 *   product_type (else google_product_category) → category, custom_label_0..4 → tags.
 */
import type { ErrorIssue } from '../../lib/errors';
import { tabularRows } from './csv';
import { FeedCollector, FeedError, given, parsePrice, type ParsedFeed, type Where } from './types';
import { scanXmlItems } from './xml';

const AVAILABLE = new Set(['in stock', 'preorder', 'backorder']);
const UNAVAILABLE = new Set(['out of stock']);
/** Catalog field → the Merchant Center attribute it comes from (names in the report). */
const SOURCE: Record<string, string> = { item_id: 'id', url: 'link', image_url: 'image_link', in_stock: 'availability', category: 'product_type', tags: 'custom_label' };

function addItem(out: FeedCollector, get: (attr: string) => string | undefined, where: Where, prefix: string, extra: ErrorIssue[] = []): void {
  const issues: ErrorIssue[] = [...extra];
  const f = (a: string) => `${prefix}${a}`;
  const attr = (a: string) => given(get(a));
  let price: number | undefined;
  const rawPrice = attr('price');
  if (rawPrice !== undefined) {
    price = parsePrice(rawPrice);
    if (price === undefined) issues.push({ field: f('price'), message: `"${rawPrice}" is not a price like "12.99 USD"` });
  }
  const tags: string[] = [];
  const rawSale = attr('sale_price');
  if (rawSale !== undefined) {
    const sale = parsePrice(rawSale);
    if (sale === undefined) issues.push({ field: f('sale_price'), message: `"${rawSale}" is not a price like "9.99 USD"` });
    else if (price === undefined || sale < price) {
      price = sale;
      tags.push('sale');
    }
  }
  const availability = attr('availability')?.toLowerCase().replace(/_/g, ' ');
  if (availability !== undefined && !AVAILABLE.has(availability) && !UNAVAILABLE.has(availability))
    issues.push({ field: f('availability'), message: `"${availability}" is not one of: in stock, out of stock, preorder, backorder` });
  for (let i = 0; i <= 4; i++) {
    const label = attr(`custom_label_${i}`);
    if (label) tags.push(label.slice(0, 100));
  }
  out.add(
    {
      item_id: attr('id'),
      title: attr('title'),
      url: attr('link') ?? null,
      image_url: attr('image_link') ?? null,
      brand: attr('brand') ?? null,
      category: attr('product_type') ?? attr('google_product_category') ?? null,
      price: price ?? null,
      in_stock: availability === undefined ? true : AVAILABLE.has(availability),
      tags,
    },
    issues,
    where,
  );
}

export function parseGmcXml(text: string): ParsedFeed {
  const scan = scanXmlItems(text);
  if (scan.root === null) throw new FeedError('not an XML document (no root element)', 1);
  if (!scan.items.length) throw new FeedError(`no <item> or <entry> elements under <${scan.root}> (a Merchant Center feed is RSS 2.0 or Atom)`, 1);
  const out = new FeedCollector((field) => `g:${SOURCE[field] ?? field}`);
  for (const it of scan.items) {
    addItem(out, (a) => it.fields.get(a), { line: it.line }, 'g:', it.error ? [{ field: '(xml)', message: it.error }] : []);
  }
  return { format: 'gmc', syntax: 'xml', items: out.items, rejected: out.rejected, rows: out.rows, complete: scan.complete };
}

export function parseGmcTsv(text: string): ParsedFeed {
  const { rows, columns, tabs } = tabularRows(text);
  for (const need of ['id', 'title']) if (!columns.includes(need)) throw new FeedError(`the header row has no "${need}" column (columns: ${columns.join(', ')})`, 1);
  const out = new FeedCollector((field) => SOURCE[field] ?? field);
  for (const row of rows) addItem(out, (a) => row.get(a), { line: row.line }, '');
  return { format: 'gmc', syntax: tabs ? 'tsv' : 'csv', items: out.items, rejected: out.rejected, rows: out.rows, complete: true };
}

export function parseGmc(text: string): ParsedFeed {
  return text.trimStart().startsWith('<') ? parseGmcXml(text) : parseGmcTsv(text);
}
