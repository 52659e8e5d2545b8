/**
 * Seed a running worker through its own API: the catalog (admin upsert, 5,000 items a call)
 * and, optionally, an interaction history (POST /v1/events, 500 a batch), so demo sessions,
 * profiles and the event log are built by the same code paths as in production.
 *
 *   npm run seed -- --url http://127.0.0.1:8787 --items FILE [--events FILE] [--token T]
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { readRows } from './lib/csv';

export interface SeedOptions {
  url: string;
  token: string;
  itemsFile: string;
  eventsFile?: string;
  /** Cap on history events sent (the demo does not need all of them). */
  maxEvents?: number;
  quiet?: boolean;
}

const EVENT_WEIGHT: Record<string, number> = { view: 1, click: 2, add_to_cart: 3, purchase: 5 };

async function post(url: string, body: string, headers: Record<string, string>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

function bar(quiet: boolean | undefined, name: string, total: number) {
  if (quiet) return { increment: (_n: number) => undefined, stop: () => undefined };
  const b = new cliProgress.SingleBar({ format: `${name.padEnd(8)} {bar} {value}/{total} ETA {eta}s` }, cliProgress.Presets.shades_classic);
  b.start(total, 0);
  return b;
}

export async function seed(o: SeedOptions): Promise<{ items: number; events: number }> {
  const events = o.eventsFile ? readRows(o.eventsFile) : [];
  const popularity = new Map<string, number>();
  for (const e of events) popularity.set(e.item_id!, (popularity.get(e.item_id!) ?? 0) + (EVENT_WEIGHT[e.type ?? 'purchase'] ?? 1));

  const items = readRows(o.itemsFile).map((r) => ({
    item_id: r.item_id,
    title: r.title || r.item_id,
    category: r.category || null,
    brand: r.brand || null,
    price: r.price ? Number(r.price) : null,
    tags: r.tags ? r.tags.split('|').filter(Boolean) : [],
    url: r.url || `/product/${encodeURIComponent(r.item_id!)}`,
    image_url: r.image_url || `/img/${encodeURIComponent(r.item_id!)}.svg`,
    in_stock: r.in_stock ? r.in_stock !== 'false' && r.in_stock !== '0' : true,
    popularity: popularity.get(r.item_id!) ?? 0,
  }));
  const admin = { authorization: `Bearer ${o.token}`, 'content-type': 'application/x-ndjson' };
  const b1 = bar(o.quiet, 'catalog', items.length);
  for (let i = 0; i < items.length; i += 5000) {
    const part = items.slice(i, i + 5000);
    const r = await post(`${o.url}/v1/admin/catalog`, part.map((x) => JSON.stringify(x)).join('\n'), admin);
    if (r.rejected.length) throw new Error(`catalog rows rejected: ${JSON.stringify(r.rejected.slice(0, 3))}`);
    b1.increment(part.length);
  }
  b1.stop();

  const history = events.slice(-(o.maxEvents ?? events.length));
  const b2 = bar(o.quiet || !history.length, 'events', history.length);
  let accepted = 0;
  for (let i = 0; i < history.length; i += 500) {
    const part = history.slice(i, i + 500).map((e, j) => ({
      event_id: `seed-${i + j}-${e.user_id}-${e.item_id}-${e.timestamp}`,
      type: e.type || 'purchase',
      item_id: e.item_id,
      session_id: `seed-session-${e.user_id}`,
      user_id: e.user_id,
      timestamp: Number(e.timestamp) > 1e11 ? Number(e.timestamp) : Date.now() - 86_400_000 + Number(e.timestamp),
      ...(e.value ? { value: Number(e.value) } : {}),
    }));
    const r = await post(`${o.url}/v1/events`, JSON.stringify({ events: part }), { 'content-type': 'application/json' });
    accepted += r.accepted + r.duplicates;
    b2.increment(part.length);
  }
  b2.stop();
  return { items: items.length, events: accepted };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8787' },
      items: { type: 'string' },
      events: { type: 'string' },
      token: { type: 'string', default: process.env.ADMIN_TOKEN },
      'max-events': { type: 'string' },
    },
  });
  if (!values.items || !values.token) {
    console.error('usage: npm run seed -- --items FILE [--events FILE] [--url URL] [--token ADMIN_TOKEN]');
    process.exit(2);
  }
  const r = await seed({ url: values.url!, token: values.token, itemsFile: values.items, eventsFile: values.events, maxEvents: values['max-events'] ? Number(values['max-events']) : undefined });
  console.log(`seeded ${r.items} items and ${r.events} events into ${values.url}`);
}
