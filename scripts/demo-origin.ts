/**
 * The demo storefront origin on its own (npm start runs it for you):
 *   npm run demo:origin -- --items .tmp/demo/items.csv [--port 8788]
 * The worker proxies it at / when ORIGIN_URL points at it (wrangler.toml [vars]).
 */
import { parseArgs } from 'node:util';
import { startDemoOrigin } from './lib/demo-origin';

const { values } = parseArgs({ options: { items: { type: 'string' }, port: { type: 'string', default: '8788' }, limit: { type: 'string' } } });
if (!values.items) {
  console.error('usage: npm run demo:origin -- --items FILE.csv [--port 8788] (npm run data:demo writes the CSV)');
  process.exit(2);
}
const origin = await startDemoOrigin({ port: Number(values.port), itemsFile: values.items, limit: values.limit ? Number(values.limit) : undefined });
console.log(`demo storefront origin on ${origin.url}/`);
const stop = () => origin.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
