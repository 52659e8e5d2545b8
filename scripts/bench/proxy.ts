/**
 * npm run bench:proxy — the HTML proxy's cost: time to first byte and total time for a page
 * with three slots (the demo origin's /bench/three-slots, never cached), straight from the
 * origin versus through the worker (wrangler dev on loopback, local D1/R2/DO, demo model),
 * measured in the same run with requests interleaved one at a time:
 *   origin      GET origin/bench/three-slots
 *   proxy anon  GET worker/bench/three-slots, no consent (non-personalized slots, no cookie)
 *   proxy full  GET worker/bench/three-slots, consent + a session with history
 *   worker /health  the floor: wrangler dev + workerd + our middleware, no proxy work
 * TTFB = first byte of the body. Prints medians / p90 and ratios, writes the "HTML proxy"
 * section of docs/benchmarks.md. Not a test: no thresholds.
 *
 *   npm run bench:proxy [-- --requests 400 --items 3000]
 */
import { request } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareDemo } from '../lib/demo';
import { startDemoOrigin } from '../lib/demo-origin';
import { machine, median, writeSection } from '../lib/report';
import { localAdminToken, migrate, ROOT, startDev } from '../lib/wrangler';
import { seed } from '../seed';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '400' },
    items: { type: 'string', default: '3000' },
    port: { type: 'string', default: '8791' },
    'origin-port': { type: 'string', default: '8792' },
  },
});
const N = Number(values.requests);
const work = resolve(ROOT, '.tmp/bench-proxy');
const state = resolve(work, 'state');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

interface Sample {
  ttfb: number;
  total: number;
  bytes: number;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Sample & { body: string }> {
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    const chunks: Buffer[] = [];
    const req = request(url, { headers: { accept: 'text/html', ...headers }, agent: false }, (res) => {
      res.on('data', (c: Buffer) => {
        if (!ttfb) ttfb = performance.now() - t0;
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolveP({ ttfb, total: performance.now() - t0, bytes: Buffer.byteLength(body), body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

const TOKEN = localAdminToken();
console.log('preparing demo data, model and local state …');
migrate({ persistTo: state });
const demo = await prepareDemo({ dir: work, items: Number(values.items), target: { persistTo: state }, tune: false });
const origin = await startDemoOrigin({ port: Number(values['origin-port']), itemsFile: demo.itemsFile });
const server = await startDev({ port: Number(values.port), persistTo: state, vars: { ORIGIN_URL: origin.url } });
try {
  await seed({ url: server.url, token: TOKEN, itemsFile: demo.itemsFile, eventsFile: demo.eventsFile, maxEvents: 3000, quiet: true });
  const path = '/bench/three-slots';
  // A consenting shopper with a session and some history.
  const first = await fetch(`${server.url}/`, { headers: { cookie: 'p13n_consent=granted' } });
  const sid = /p13n_sid=([^;]+)/.exec(first.headers.getSetCookie().join('\n'))?.[1] ?? '';
  const ids = demo.itemIds.slice(0, 5);
  await fetch(`${server.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: ids.map((id, i) => ({ event_id: `bench-${sid}-${i}`, type: 'view', item_id: id, session_id: sid, timestamp: Date.now() - 1000 + i })) }),
  });
  const variants = {
    origin: () => get(`${origin.url}${path}`),
    'worker /health': () => get(`${server.url}/health`),
    'proxy anon': () => get(`${server.url}${path}`),
    'proxy full': () => get(`${server.url}${path}`, { cookie: `p13n_consent=granted; p13n_sid=${sid}` }),
  } as const;
  type Name = keyof typeof variants;
  const check = await variants['proxy full']();
  const filled = (check.body.match(/data-p13n-state="filled"/g) ?? []).length;
  console.log(`page: ${check.bytes} bytes through the proxy, ${filled}/3 slots filled`);
  for (let i = 0; i < 30; i++) for (const v of Object.values(variants)) await v(); // warm-up
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, [] as Sample[]])) as Record<Name, Sample[]>;
  let filledAll = 0;
  for (let i = 0; i < N; i++) {
    for (const name of Object.keys(variants) as Name[]) {
      const s = await variants[name]();
      samples[name].push(s);
      if (name === 'proxy full' && (s.body.match(/data-p13n-state="filled"/g) ?? []).length === 3) filledAll++;
    }
  }
  const row = (name: Name) => {
    const t = samples[name].map((s) => s.ttfb);
    const tot = samples[name].map((s) => s.total);
    return { name, ttfbP50: median(t), ttfbP90: pct(t, 0.9), totalP50: median(tot), totalP90: pct(tot, 0.9) };
  };
  const rows = (Object.keys(variants) as Name[]).map(row);
  const o = rows[0]!;
  const lines = [
    `| path | TTFB p50 | TTFB p90 | total p50 | total p90 | TTFB p50 vs origin | total p50 vs origin |`,
    `|---|---:|---:|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.ttfbP50.toFixed(2)} ms | ${r.ttfbP90.toFixed(2)} ms | ${r.totalP50.toFixed(2)} ms | ${r.totalP90.toFixed(2)} ms | ${r.name === 'origin' ? '—' : `+${(r.ttfbP50 - o.ttfbP50).toFixed(2)} ms (×${(r.ttfbP50 / o.ttfbP50).toFixed(2)})`} | ${r.name === 'origin' ? '—' : `+${(r.totalP50 - o.totalP50).toFixed(2)} ms (×${(r.totalP50 / o.totalP50).toFixed(2)})`} |`,
    ),
  ];
  console.log('\n' + lines.join('\n'));
  writeSection(
    'proxy',
    `## HTML proxy

\`npm run bench:proxy\` — ${machine()}. A ${check.bytes}-byte page with three slots (demo origin \`${path}\`, \`no-store\`, so every proxied request also fetches the origin), ${N} sequential requests per path, interleaved in one run after 30 warm-up rounds; ${values.items}-item catalog, demo model active. TTFB is the first body byte at the client. \`proxy full\`: consent and a session with history (personalized, ${filledAll}/${N} pages with all three slots filled); \`proxy anon\`: no consent (popular lists, no cookie). Through \`wrangler dev\` on loopback, so the proxy rows also include wrangler's local dev proxy in front of workerd.

${lines.join('\n')}`,
  );
  console.log('\nwritten to docs/benchmarks.md (section "HTML proxy")');
} finally {
  await server.stop();
  await origin.stop();
}
