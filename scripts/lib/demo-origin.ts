/**
 * The demo storefront origin: a small server-rendered shop (home, category, product, cart)
 * that marks personalization slots in its own HTML, as a real storefront would. The worker
 * proxies it at / (ORIGIN_URL in wrangler.toml) and fills the slots; opened directly, the
 * same pages show their own fallback content ("Editor's picks").
 *
 * Pages: /  /category/:name  /product/:id  /cart (+ POST /cart/add)  /img/:id.svg  /style.css
 * Catalog, shop pages are `Cache-Control: public, max-age=30` (the worker may cache them at the
 * edge, without shopper cookies); the cart is private. A consent banner sets `p13n_consent`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readItems } from '../../model/io';

export interface DemoItem {
  id: string;
  title: string;
  category: string;
  brand: string;
  price: number | null;
  tags: string[];
}

export interface DemoOrigin {
  url: string;
  stop(): Promise<void>;
}

const esc = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const money = (p: number | null) => (p === null ? '' : `$${p.toFixed(2)}`);
const HUES: Record<string, number> = {};
const hue = (cat: string) => (HUES[cat] ??= [...cat].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7));

export const STYLE = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d1d1f;background:#faf9f7}
a{color:inherit}header.top{display:flex;gap:24px;align-items:center;padding:14px 32px;background:#1f2a37;color:#fff}
header.top .logo{font-weight:700;font-size:20px;text-decoration:none;letter-spacing:.5px}header.top nav{display:flex;gap:14px;flex-wrap:wrap;font-size:14px}
header.top nav a{text-decoration:none;opacity:.85}header.top nav a:hover{opacity:1;text-decoration:underline}header.top .cart{margin-left:auto}
main{max-width:1160px;margin:0 auto;padding:24px 32px 64px}h1{font-size:28px;margin:8px 0 18px}h2{font-size:19px;margin:28px 0 12px}
.hero{padding:28px;border-radius:14px;background:linear-gradient(120deg,#f6d5c8,#e8e0f7);margin-bottom:8px}.hero p{margin:4px 0 0;color:#444}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:16px;list-style:none;padding:0;margin:0}
.card,.p13n-item{background:#fff;border-radius:12px;padding:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);list-style:none}
.card a,.p13n-item a{text-decoration:none;display:block}.card img,.p13n-item img{width:100%;height:auto;border-radius:8px;display:block;background:#eee}
.title,.p13n-title{display:block;font-weight:600;margin-top:8px;font-size:14px}.price,.p13n-price{display:block;color:#0a7d45;font-weight:600}
.p13n-reason{display:block;color:#777;font-size:12px;margin-top:4px}.p13n-items{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:16px;padding:0;margin:0}
.recs{border:1px dashed #c9c3bb;border-radius:14px;padding:14px;background:#fffdf9}.recs[data-p13n-state=filled]{border:1px solid #d6cfe8;background:#fbf9ff}
.recs .badge{font-size:12px;color:#7a6fa8;margin-bottom:8px}.fallback-note{color:#888;font-size:12px;margin:0 0 8px}
.product{display:grid;grid-template-columns:360px 1fr;gap:32px}.product img{width:100%;border-radius:14px}
.btn{display:inline-block;border:0;border-radius:10px;background:#1f2a37;color:#fff;padding:10px 18px;font-size:15px;cursor:pointer;text-decoration:none}
.btn.light{background:#e9e6f2;color:#1f2a37}.consent{position:fixed;bottom:16px;left:16px;right:16px;max-width:720px;margin:auto;background:#fff;border-radius:14px;box-shadow:0 4px 20px rgba(0,0,0,.18);padding:16px 20px;display:flex;gap:12px;align-items:center}
.consent[hidden]{display:none}.consent p{margin:0;flex:1}footer{text-align:center;color:#999;font-size:12px;padding:24px}table{border-collapse:collapse}td{padding:6px 12px;border-bottom:1px solid #eee}
`;

function imageSvg(item: DemoItem): string {
  const h = hue(item.category);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320" viewBox="0 0 320 320"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${h},60%,82%)"/><stop offset="1" stop-color="hsl(${(h + 40) % 360},55%,68%)"/></linearGradient></defs><rect width="320" height="320" fill="url(#g)"/><circle cx="160" cy="140" r="70" fill="rgba(255,255,255,.55)"/><text x="160" y="150" font-family="sans-serif" font-size="26" text-anchor="middle" fill="#333">${esc(item.category)}</text><text x="160" y="275" font-family="sans-serif" font-size="15" text-anchor="middle" fill="#333">${esc(item.title.slice(0, 32))}</text></svg>`;
}

export function createDemoStore(items: DemoItem[]) {
  const byId = new Map(items.map((i) => [i.id, i]));
  const categories = [...new Set(items.map((i) => i.category))].sort();
  const byCategory = new Map<string, DemoItem[]>();
  for (const i of items) (byCategory.get(i.category) ?? byCategory.set(i.category, []).get(i.category)!).push(i);

  const card = (i: DemoItem) =>
    `<li class="card"><a href="/product/${encodeURIComponent(i.id)}"><img src="/img/${encodeURIComponent(i.id)}.svg" alt="${esc(i.title)}" width="160" height="160" loading="lazy"><span class="title">${esc(i.title)}</span><span class="price">${money(i.price)}</span></a></li>`;
  /** A slot: the origin's own content is the fallback the worker replaces. */
  const slot = (name: string, heading: string, attrs: Record<string, string | number>, fallback: DemoItem[]) =>
    `<h2>${esc(heading)}</h2><div class="recs" data-p13n-slot="${esc(name)}"${Object.entries(attrs)
      .map(([k, v]) => ` data-p13n-${k}="${esc(v)}"`)
      .join('')}><p class="fallback-note">Editor's picks</p><ul class="grid">${fallback.map(card).join('')}</ul></div>`;

  const layout = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Glow demo store</title><link rel="stylesheet" href="/style.css"><script src="/p13n.js" defer></script></head>
<body><header class="top"><a class="logo" href="/">Glow</a><nav>${categories.map((c) => `<a href="/category/${encodeURIComponent(c)}">${esc(c)}</a>`).join('')}</nav><a class="cart" href="/cart">Cart</a></header>
<main>${body}</main><footer>Demo storefront origin · blocks marked with data-p13n-slot are filled by the edge worker</footer>
<div class="consent" id="consent" hidden><p>We use a first-party cookie to personalize recommendations on this demo store.</p><button class="btn" data-consent="granted">Accept</button><button class="btn light" data-consent="denied">Decline</button></div>
<script>(function(){var b=document.getElementById('consent');if(!/(^|; )p13n_consent=/.test(document.cookie))b.hidden=false;b.addEventListener('click',function(e){var v=e.target.getAttribute('data-consent');if(!v)return;document.cookie='p13n_consent='+v+'; Path=/; Max-Age=31536000; SameSite=Lax';location.reload();});})();</script>
</body></html>`;

  const editorial = (list: DemoItem[], n: number) => list.slice(0, n);

  function route(method: string, url: URL, cookie: string): { status: number; headers: Record<string, string>; body: string } {
    const html = (body: string, cache = 'public, max-age=30') => ({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': cache }, body });
    const notFound = () => ({ status: 404, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: layout('Not found', '<h1>Not found</h1><p><a href="/">Back to the shop</a></p>') });
    const p = decodeURIComponent(url.pathname);
    if (p === '/style.css') return { status: 200, headers: { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600' }, body: STYLE };
    if (p.startsWith('/img/') && p.endsWith('.svg')) {
      const item = byId.get(p.slice(5, -4));
      return item ? { status: 200, headers: { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' }, body: imageSvg(item) } : notFound();
    }
    if (p === '/') {
      const picks = categories.map((c) => byCategory.get(c)![0]!).slice(0, 8);
      return html(
        layout(
          'Home',
          `<section class="hero"><h1>Glow — beauty &amp; care</h1><p>Browse a category or a product: the blocks below follow what you look at.</p></section>` +
            slot('home-recs', 'Recommended for you', { k: 8 }, picks) +
            `<h2>Shop by category</h2><ul class="grid">${categories.map((c) => `<li class="card"><a href="/category/${encodeURIComponent(c)}"><span class="title">${esc(c)}</span><span class="price">${byCategory.get(c)!.length} products</span></a></li>`).join('')}</ul>`,
        ),
      );
    }
    if (p.startsWith('/category/')) {
      const cat = p.slice('/category/'.length);
      const list = byCategory.get(cat);
      if (!list) return notFound();
      return html(
        layout(cat, `<h1>${esc(cat)}</h1>` + slot('category-recs', `Top ${cat} picks for you`, { k: 4, category: cat }, editorial(list, 4)) + `<h2>All ${esc(cat)}</h2><ul class="grid">${list.slice(0, 24).map(card).join('')}</ul>`),
      );
    }
    if (p.startsWith('/product/')) {
      const item = byId.get(p.slice('/product/'.length));
      if (!item) return notFound();
      const same = byCategory.get(item.category)!.filter((i) => i.id !== item.id);
      return html(
        layout(
          item.title,
          `<article class="product" data-p13n-view="${esc(item.id)}"><img src="/img/${encodeURIComponent(item.id)}.svg" alt="${esc(item.title)}" width="320" height="320"><div><h1>${esc(item.title)}</h1><p>${esc(item.brand)} · <a href="/category/${encodeURIComponent(item.category)}">${esc(item.category)}</a></p><p class="price">${money(item.price)}</p><p>${item.tags.map(esc).join(', ')}</p><form method="post" action="/cart/add"><input type="hidden" name="item" value="${esc(item.id)}"><button class="btn" data-p13n-cart="${esc(item.id)}">Add to cart</button></form></div></article>` +
            slot('similar', 'You may also like', { k: 4, item: item.id }, editorial(same, 4)) +
            `<h2>More in ${esc(item.category)}</h2><ul class="grid">${same.slice(4, 12).map(card).join('')}</ul>`,
        ),
      );
    }
    if (p === '/cart') {
      const ids = (/(?:^|;\s*)demo_cart=([^;]*)/.exec(cookie)?.[1] ?? '').split('.').map(decodeURIComponent).filter((id) => byId.has(id));
      const rows = ids.map((id) => byId.get(id)!).map((i) => `<tr><td><a href="/product/${encodeURIComponent(i.id)}">${esc(i.title)}</a></td><td>${money(i.price)}</td></tr>`);
      const total = ids.reduce((s, id) => s + (byId.get(id)!.price ?? 0), 0);
      return html(
        layout('Cart', `<h1>Your cart</h1>${rows.length ? `<table>${rows.join('')}<tr><td><b>Total</b></td><td><b>${money(total)}</b></td></tr></table>` : '<p>Your cart is empty.</p>'}` + slot('cart-recs', 'Complete your routine', { k: 4 }, editorial(items, 4))),
        'private, no-store',
      );
    }
    if (p === '/bench/three-slots') {
      // The benchmark page (npm run bench:proxy): three slots, a realistically sized page, never cached.
      const cat = categories[0]!;
      const list = byCategory.get(cat)!;
      const item = list[1]!;
      return html(
        layout(
          'Benchmark',
          `<h1>Three slots</h1>` +
            slot('home-recs', 'Recommended for you', { k: 8 }, editorial(items, 8)) +
            `<h2>All ${esc(cat)}</h2><ul class="grid">${list.slice(0, 24).map(card).join('')}</ul>` +
            slot('category-recs', `Top ${cat}`, { k: 4, category: cat }, editorial(list, 4)) +
            slot('similar', 'You may also like', { k: 4, item: item.id }, editorial(list.slice(2), 4)),
        ),
        'no-store',
      );
    }
    if (p === '/cart/add' && method === 'POST') return { status: 303, headers: { location: '/cart', 'cache-control': 'no-store' }, body: '' };
    return notFound();
  }

  return { route, categories, byCategory, byId };
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function loadDemoItems(itemsFile: string, limit = Infinity): DemoItem[] {
  // A few hundred items keep pages small; the catalog in the worker can be larger.
  const rows = readItems(itemsFile).rows;
  return rows.slice(0, limit).map((r) => ({ id: r.id, title: r.title || r.id, category: r.category ?? 'other', brand: r.brand ?? '', price: r.price ?? null, tags: r.tags ?? [] }));
}

export async function startDemoOrigin(o: { port: number; itemsFile: string; host?: string; limit?: number }): Promise<DemoOrigin> {
  const store = createDemoStore(loadDemoItems(o.itemsFile, o.limit));
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'http://demo.local');
      const cookie = req.headers.cookie ?? '';
      const out = store.route(req.method ?? 'GET', url, cookie);
      if (url.pathname === '/cart/add' && req.method === 'POST') {
        const id = (await formBody(req)).get('item') ?? '';
        const current = (/(?:^|;\s*)demo_cart=([^;]*)/.exec(cookie)?.[1] ?? '').split('.').filter(Boolean);
        if (store.byId.has(id)) current.push(encodeURIComponent(id));
        out.headers['set-cookie'] = `demo_cart=${current.slice(-20).join('.')}; Path=/; SameSite=Lax`;
      }
      res.writeHead(out.status, out.headers);
      res.end(req.method === 'HEAD' ? undefined : out.body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`demo origin error: ${(e as Error).message}`);
    }
  });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
