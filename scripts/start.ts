/**
 * npm start — the whole thing locally, with one command and no network:
 * local D1 migrated, demo catalog + history generated, a demo model trained by model/ and
 * published to local R2/D1, the worker on http://127.0.0.1:8787 (API + the demo storefront
 * proxied at /), the demo origin on http://127.0.0.1:8788, and the catalog and history seeded
 * through the worker's own API.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { seed } from './seed';
import { prepareDemo } from './lib/demo';
import { startDemoOrigin } from './lib/demo-origin';
import { localAdminToken, migrate, ROOT, startDev } from './lib/wrangler';

// --history-days N spreads the seeded history over the last N days (scripts/seed.ts historyDays).
const { values } = parseArgs({ options: { items: { type: 'string', default: '3000' }, port: { type: 'string', default: '8787' }, 'history-days': { type: 'string' } } });

const token = localAdminToken();

console.log('1/5 applying D1 migrations (local)');
migrate({});
console.log('2/5 generating demo data, training and publishing the demo model');
const demo = await prepareDemo({ dir: resolve(ROOT, '.tmp/demo'), items: Number(values.items), target: {} });
console.log('3/5 starting the demo storefront origin');
const origin = await startDemoOrigin({ port: 8788, itemsFile: demo.itemsFile });
console.log('4/5 starting the worker (wrangler dev)');
const server = await startDev({ port: Number(values.port), logLevel: 'info' });
console.log('5/5 seeding catalog and history through the API');
const seeded = await seed({ url: server.url, token, itemsFile: demo.itemsFile, eventsFile: demo.eventsFile, maxEvents: 5000, historyDays: values['history-days'] ? Number(values['history-days']) : undefined });

console.log(`
  Demo storefront (through the proxy):  ${server.url}/
  API:                                   ${server.url}/v1/recommendations?slot=home&k=8
  API with your own session ids:         send X-P13n-Server-Key (SERVER_KEY in .dev.vars)
  OpenAPI:                               ${server.url}/openapi.json
  Admin (Bearer token from .dev.vars):   ${server.url}/v1/admin/health
  Origin without the proxy:              ${origin.url}/
  ${seeded.items} items, ${seeded.events} history events, model ${demo.version}. Ctrl-C stops everything.
`);

const stop = async () => {
  await Promise.allSettled([server.stop(), origin.stop()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
