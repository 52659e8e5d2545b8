/**
 * Seed a running worker through its own API: the catalog (admin upsert, 5,000 items a call)
 * and, optionally, an interaction history (POST /v1/events, 500 a batch), so demo sessions,
 * profiles and the event log are built by the same code paths as in production.
 *
 *   npm run seed -- --url http://127.0.0.1:8787 --items FILE [--events FILE] [--token T]
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { readEvents, readItems, EVENT_STRENGTH } from '../model/io';
import { signUserToken } from '../worker/identity/shopper';
import { localSecret, localServerKeyHeader } from './lib/wrangler';

export interface SeedOptions {
  url: string;
  token: string;
  itemsFile: string;
  eventsFile?: string;
  /** Cap on history events sent (the demo does not need all of them). */
  maxEvents?: number;
  quiet?: boolean;
  /** The worker's IDENTITY_SECRET (default: the local one in .dev.vars): history events name their shopper with a signed token, as a storefront backend would. */
  identitySecret?: string;
  /** The worker's SERVER_KEY (default: the local one in .dev.vars): bulk batches with the seed's own session ids need it. */
  serverKey?: string;
  /**
   * Spread the history evenly, in order, over the last `historyDays` days (default: its own spacing,
   * re-timed to end now). The demo history thins out towards its end; spread, the most recent day
   * has returning shoppers, which `npm run model:retrain` holds out to compare models.
   */
  historyDays?: number;
}

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

/** Catalog items in the admin API's format, with popularity counted from the history. */
export function catalogFromFiles(itemsFile: string, eventsFile?: string) {
  // The same parsers as the training pipeline, so the worker and the model see the same catalog.
  const events = eventsFile ? readEvents(eventsFile).rows.sort((a, b) => a.ts - b.ts) : [];
  const popularity = new Map<string, number>();
  for (const e of events) popularity.set(e.item, (popularity.get(e.item) ?? 0) + EVENT_STRENGTH[e.type]);
  const items = readItems(itemsFile).rows.map((r) => ({
    item_id: r.id,
    title: r.title || r.id,
    category: r.category ?? null,
    brand: r.brand ?? null,
    price: r.price ?? null,
    tags: r.tags,
    url: `/product/${encodeURIComponent(r.id)}`,
    image_url: `/img/${encodeURIComponent(r.id)}.svg`,
    popularity: popularity.get(r.id) ?? 0,
  }));
  return { items, events };
}

export async function seed(o: SeedOptions): Promise<{ items: number; events: number }> {
  const { items, events } = catalogFromFiles(o.itemsFile, o.eventsFile);
  const admin = { authorization: `Bearer ${o.token}`, 'content-type': 'application/x-ndjson' };
  const b1 = bar(o.quiet, 'catalog', items.length);
  for (let i = 0; i < items.length; i += 5000) {
    const part = items.slice(i, i + 5000);
    const r = await post(`${o.url}/v1/admin/catalog`, part.map((x) => JSON.stringify(x)).join('\n'), admin);
    if (r.rejected.length) throw new Error(`catalog rows rejected: ${JSON.stringify(r.rejected.slice(0, 3))}`);
    b1.increment(part.length);
  }
  b1.stop();
  // The serving catalog's columnar snapshot (worker/catalog/): isolates then read one R2 object
  // and the changes after it, not every row.
  const snap = await fetch(`${o.url}/v1/admin/catalog/snapshot`, { method: 'POST', headers: { authorization: `Bearer ${o.token}` } });
  if (!snap.ok) throw new Error(`catalog snapshot: ${snap.status} ${await snap.text()}`);

  // The most recent history, re-timed to end just before now so it reads as recent activity.
  const history = events.slice(-(o.maxEvents ?? events.length));
  const shift = history.length ? Date.now() - 60_000 - history[history.length - 1]!.ts : 0;
  const end = Date.now() - 60_000;
  const at = (i: number, ts: number) => (o.historyDays ? Math.round(end - o.historyDays * 86_400_000 * (1 - (i + 1) / history.length)) : Math.round(ts + shift));
  const b2 = bar(o.quiet || !history.length, 'events', history.length);
  let accepted = 0;
  const tokens = new Map<string, string>();
  const expires = Date.now() / 1000 + 24 * 3600;
  const secret = o.identitySecret ?? localSecret('IDENTITY_SECRET');
  for (const e of history) if (!tokens.has(e.user)) tokens.set(e.user, await signUserToken(secret, e.user, expires));
  for (let i = 0; i < history.length; i += 500) {
    const part = history.slice(i, i + 500).map((e, j) => ({
      event_id: `seed-${e.user}-${e.item}-${e.ts}-${e.type}`,
      type: e.type,
      item_id: e.item,
      session_id: `seed-session-${e.user}`,
      user_token: tokens.get(e.user)!,
      timestamp: at(i + j, e.ts),
      ...(e.value !== undefined ? { value: e.value } : {}),
    }));
    // Bulk, multi-session batches with the seed's own session ids: the storefront backend's server key.
    const r = await post(`${o.url}/v1/events`, JSON.stringify({ events: part, consent: 'full' }), { ...localServerKeyHeader(o.serverKey), 'content-type': 'application/json' });
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
      'identity-secret': { type: 'string', default: process.env.IDENTITY_SECRET },
      'server-key': { type: 'string', default: process.env.SERVER_KEY },
      'history-days': { type: 'string' },
    },
  });
  if (!values.items || !values.token) {
    console.error('usage: npm run seed -- --items FILE [--events FILE] [--url URL] [--token ADMIN_TOKEN]');
    process.exit(2);
  }
  const r = await seed({ url: values.url!, token: values.token, identitySecret: values['identity-secret'], serverKey: values['server-key'], itemsFile: values.items, eventsFile: values.events, maxEvents: values['max-events'] ? Number(values['max-events']) : undefined, historyDays: values['history-days'] ? Number(values['history-days']) : undefined });
  console.log(`seeded ${r.items} items and ${r.events} events into ${values.url}`);
}
