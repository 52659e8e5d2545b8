/**
 * Shopify product JSON: the `{"products": [...]}` of /products.json or the Admin REST API (a bare
 * array of products is accepted too). One catalog item per product, not per variant: a storefront's
 * product page, its analytics events and Shopify's own recommendations name the product; variants
 * (sizes, colours) are one choice on that page, not separate things to recommend. Mapping
 * (docs/catalog.md): id → item_id, title, vendor → brand, product_type → category, tags, handle →
 * url "/products/{handle}", image (else images[0]) → image_url, the lowest variant price → price
 * (tagged "sale" when its compare_at_price is higher), in_stock when the product is active (or has
 * no status) and some variant is available (available, or inventory not tracked / allowed to
 * oversell / above 0). Bad rows are reported by index path: products[12].variants[0].price.
 */
import type { ErrorIssue } from '../../lib/errors';
import { FeedCollector, FeedError, type ParsedFeed } from './types';

type Json = Record<string, unknown>;
const SOURCE: Record<string, string> = { item_id: 'id', brand: 'vendor', category: 'product_type', url: 'handle', image_url: 'image.src', in_stock: 'variants', price: 'variants' };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** Shopify CDN links are often protocol-relative ("//cdn.shopify.com/..."). */
function imageUrl(p: Json): string | undefined {
  const src = str(obj(p.image)?.src) ?? (Array.isArray(p.images) ? str(obj(p.images[0])?.src) : undefined);
  return src?.startsWith('//') ? `https:${src}` : src;
}

function variantAvailable(v: Json): boolean {
  if (typeof v.available === 'boolean') return v.available;
  if (v.inventory_management === null || v.inventory_management === undefined || v.inventory_policy === 'continue') return true;
  return typeof v.inventory_quantity === 'number' && v.inventory_quantity > 0;
}

function addProduct(out: FeedCollector, p: unknown, path: string): void {
  const product = obj(p);
  if (!product) {
    out.reject([{ field: path, message: 'is not a product object' }], { path });
    return;
  }
  const issues: ErrorIssue[] = [];
  const variants = Array.isArray(product.variants) ? product.variants : [];
  if (product.variants !== undefined && !Array.isArray(product.variants)) issues.push({ field: `${path}.variants`, message: 'is not an array' });
  let best: { price: number; compare?: number } | undefined;
  let available = variants.length === 0;
  variants.forEach((raw, j) => {
    const v = obj(raw);
    if (!v) return issues.push({ field: `${path}.variants[${j}]`, message: 'is not a variant object' });
    const price = Number(str(v.price));
    if (v.price === undefined || v.price === null) return;
    if (!Number.isFinite(price) || price < 0) return issues.push({ field: `${path}.variants[${j}].price`, message: `${JSON.stringify(v.price)} is not a price` });
    if (!best || price < best.price) best = { price, compare: Number(str(v.compare_at_price)) || undefined };
    if (variantAvailable(v)) available = true;
  });
  const status = str(product.status);
  const tags = (Array.isArray(product.tags) ? product.tags.map(str) : (str(product.tags)?.split(',') ?? [])).map((t) => t?.trim()).filter((t): t is string => !!t).map((t) => t.slice(0, 100));
  const b = best as { price: number; compare?: number } | undefined;
  if (b?.compare && b.compare > b.price && !tags.some((t) => t.toLowerCase() === 'sale')) tags.push('sale');
  const handle = str(product.handle);
  out.add(
    {
      item_id: str(product.id),
      title: str(product.title),
      brand: str(product.vendor) ?? null,
      category: str(product.product_type) ?? null,
      url: handle ? `/products/${encodeURIComponent(handle)}` : null,
      image_url: imageUrl(product) ?? null,
      price: b?.price ?? null,
      in_stock: (status === undefined || status === 'active') && available,
      tags: tags.slice(0, 50),
    },
    issues,
    { path },
  );
}

export function parseShopify(text: string): ParsedFeed {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FeedError(`not valid JSON: ${(e as Error).message}`);
  }
  const root = Array.isArray(doc) ? '' : 'products';
  const products = Array.isArray(doc) ? doc : obj(doc)?.products;
  if (!Array.isArray(products)) throw new FeedError('expected {"products": [...]} (a Shopify products.json export) or an array of products');
  const out = new FeedCollector((field) => SOURCE[field] ?? field);
  products.forEach((p, i) => addProduct(out, p, `${root}[${i}]`));
  // Schema issues name the product's field; prefix them with its path like the parser's own issues.
  for (const r of out.rejected) r.issues = r.issues.map((x) => (x.field.startsWith(r.path ?? '') ? x : { ...x, field: `${r.path}.${x.field}` }));
  return { format: 'shopify', syntax: 'json', items: out.items, rejected: out.rejected, rows: out.rows, complete: true };
}
