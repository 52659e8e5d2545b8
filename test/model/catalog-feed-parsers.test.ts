/**
 * The catalog feed parsers (worker/catalog/feeds/) on their own, in Node: the cases a real feed
 * brings that the workerd tests (test/worker/catalog-feeds.test.ts) do not spell out.
 */
import { describe, expect, it } from 'vitest';
import { detectFormat, parseFeed } from '../../worker/catalog/feeds';

const rss = (items: string) => `<?xml version="1.0"?>\n<rss xmlns:g="http://base.google.com/ns/1.0"><channel>\n${items}\n</channel></rss>`;

describe('Merchant Center XML', () => {
  it('reads direct children only, with entities, CDATA and the g: attribute winning over a plain one', () => {
    const feed = parseFeed(
      rss(`<!-- a comment with <item> inside -->
<item>
  <g:id>a&amp;b</g:id><title>plain</title><g:title><![CDATA[Tea & <b>cakes</b>]]></g:title>
  <g:shipping><g:price>4.95 USD</g:price></g:shipping>
  <g:price>USD 1,299.00</g:price><g:sale_price>999,50 USD</g:sale_price>
  <g:availability>backorder</g:availability><g:custom_label_0>gift</g:custom_label_0>
  <g:google_product_category>Home &gt; Kitchen</g:google_product_category>
</item>`),
    );
    expect(feed.rejected).toEqual([]);
    expect(feed.items).toEqual([
      { item_id: 'a&b', title: 'Tea & <b>cakes</b>', url: null, image_url: null, brand: null, category: 'Home > Kitchen', price: 999.5, in_stock: true, tags: ['sale', 'gift'] },
    ]);
  });

  it('reads Atom entries with <link href>, and a broken item rejects only itself', () => {
    const atom = `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
<entry><g:id>1</g:id><title>One</title><link href="https://s.example/1"/></entry>
<entry><g:id>2</g:id><title>Two</g:title></entry>
<entry><g:id>3</g:id><title>Three</title></entry>
</feed>`;
    const feed = parseFeed(atom);
    expect(feed.items.map((i) => [i.item_id, i.url])).toEqual([
      ['1', 'https://s.example/1'],
      ['3', null],
    ]);
    expect(feed.rejected).toMatchObject([{ line: 3, item_id: '2', issues: [{ field: '(xml)', message: expect.stringContaining('closes nothing') }] }]);
    expect(feed.complete).toBe(true);
  });

  it('says what is wrong with a document that is not a feed', () => {
    expect(() => parseFeed('<html><body>Not found</body></html>', 'gmc')).toThrow(/no <item> or <entry>/);
  });
});

describe('CSV and TSV', () => {
  it('reports the line a row starts on, across quoted line breaks and blank lines', () => {
    const feed = parseFeed('item_id,title,price\n\n"a","multi\nline\ntitle",1\n\nb,,2\n');
    expect(feed.items.map((i) => i.title)).toEqual(['multi\nline\ntitle']);
    expect(feed.rejected).toMatchObject([{ line: 7, item_id: 'b', issues: [{ field: 'title', message: 'is missing' }] }]);
  });

  it('recognises the format from the content', () => {
    expect(detectFormat('item_id\ttitle\nx\ty\n')).toBe('csv');
    expect(detectFormat('id\ttitle\tlink\tprice\n')).toBe('gmc');
    expect(detectFormat('\uFEFF<?xml version="1.0"?><rss/>')).toBe('gmc');
    expect(detectFormat(' {"products": []}')).toBe('shopify');
    expect(() => detectFormat('sku;name\n')).toThrow(/cannot tell the format/);
  });
});

describe('Shopify products.json', () => {
  it('one item per product: the lowest price, stock from any variant, inventory rules, draft products not in stock', () => {
    const products = [
      { id: 1, title: 'Tracked, none left', variants: [{ price: '5.00', inventory_management: 'shopify', inventory_quantity: 0, inventory_policy: 'deny' }] },
      { id: 2, title: 'Oversold allowed', variants: [{ price: '5.00', inventory_management: 'shopify', inventory_quantity: 0, inventory_policy: 'continue' }] },
      { id: 3, title: 'Not tracked', tags: ['a', 'b'], variants: [{ price: 7, inventory_management: null }, { price: '6.5', inventory_management: null }] },
      { id: 4, title: 'Draft', status: 'draft', variants: [{ price: '1.00', available: true }] },
      'not a product',
    ];
    const feed = parseFeed(JSON.stringify(products), 'shopify');
    expect(feed.items.map((i) => [i.item_id, i.in_stock, i.price, i.tags])).toEqual([
      ['1', false, 5, []],
      ['2', true, 5, []],
      ['3', true, 6.5, ['a', 'b']],
      ['4', false, 1, []],
    ]);
    expect(feed.rejected).toMatchObject([{ path: '[4]', issues: [{ message: 'is not a product object' }] }]);
  });
});
