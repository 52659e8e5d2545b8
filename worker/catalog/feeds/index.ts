/**
 * Catalog feeds (docs/catalog.md): one parser per format, shared by `npm run catalog:import`
 * (scripts/catalog-import.ts), POST /v1/admin/catalog/import and the scheduled pull of
 * CATALOG_FEED_URL. The format is told, or recognised from the content.
 */
import { parseCsv } from './csv';
import { parseGmc } from './gmc';
import { parseShopify } from './shopify';
import { FeedError, type FeedFormat, type ParsedFeed } from './types';

export { FEED_FORMATS, FeedError, FeedRejectionSchema, type FeedFormat, type FeedRejection, type ParsedFeed } from './types';

/** XML → gmc; JSON → shopify; a header row with item_id → csv, with Merchant Center's id/link/availability → gmc. */
export function detectFormat(text: string): FeedFormat {
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<')) return 'gmc';
  if (head.startsWith('{') || head.startsWith('[')) return 'shopify';
  const header = head
    .slice(0, head.indexOf('\n') === -1 ? head.length : head.indexOf('\n'))
    .toLowerCase()
    .split(/[\t,]/)
    .map((h) => h.trim().replace(/^"|"$/g, '').replace(/^g:/, ''));
  if (header.includes('item_id')) return 'csv';
  if (header.includes('id') && ['link', 'availability', 'image_link', 'price'].some((h) => header.includes(h))) return 'gmc';
  throw new FeedError('cannot tell the format: not XML, not JSON, and the header row names neither item_id (csv) nor id + link/availability (gmc); pass the format', 1);
}

export function parseFeed(text: string, format: FeedFormat = detectFormat(text)): ParsedFeed {
  const body = text.replace(/^\uFEFF/, '');
  if (!body.trim()) throw new FeedError('the feed is empty');
  switch (format) {
    case 'csv':
      return parseCsv(body);
    case 'gmc':
      return parseGmc(body);
    case 'shopify':
      return parseShopify(body);
  }
}
