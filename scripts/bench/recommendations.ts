/**
 * npm run bench — serving latency with a 50,000-item catalog and a model trained for it.
 *
 * Starts `wrangler dev` on loopback with its own local state, publishes a model, seeds the
 * catalog and a few hundred sessions with history, then drives concurrent load with
 * autocannon at GET /health (the baseline: same worker, no work) and at
 * GET /v1/recommendations, alternating rounds in the same run. Prints p50 / p99 /
 * throughput and writes them to docs/benchmarks.md. Not a test: no thresholds.
 *
 *   npm run bench [-- --items 50000 --connections 8 --seconds 10 --rounds 3]
 */
import autocannon from 'autocannon';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { seed } from '../seed';
import { prepareDemo } from '../lib/demo';
import { machine, median, writeSection } from '../lib/report';
import { localAdminToken, migrate, ROOT, startDev } from '../lib/wrangler';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '50000' },
    connections: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    port: { type: 'string', default: '8797' },
  },
});
const nItems = Number(values.items);
const work = resolve(ROOT, '.tmp/bench');
const state = resolve(work, 'state');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const TOKEN = localAdminToken();
console.log(`preparing ${nItems} items, demo history and a model …`);
migrate({ persistTo: state });
const demo = await prepareDemo({ dir: work, items: nItems, target: { persistTo: state }, tune: false });

const server = await startDev({ port: Number(values.port), persistTo: state, vars: { MODEL_TTL_MS: '10000', CATALOG_TTL_MS: '5000', ACCESS_LOG: 'off' } });
try {
  const seeded = await seed({ url: server.url, token: TOKEN, itemsFile: demo.itemsFile, eventsFile: demo.eventsFile, maxEvents: 5000 });
  console.log(`seeded ${seeded.items} items, ${seeded.events} history events`);

  // Sessions with live history: 300 sessions x 6 views.
  const ids = demo.itemIds;
  const sessions = Array.from({ length: 300 }, (_, s) => `bench-s${s}`);
  for (let s = 0; s < sessions.length; s += 50) {
    const events = sessions.slice(s, s + 50).flatMap((sid, j) =>
      Array.from({ length: 6 }, (_, v) => ({ event_id: `bench-${sid}-${v}`, type: 'view', item_id: ids[((s + j) * 131 + v * 17) % ids.length], session_id: sid, timestamp: Date.now() - 60_000 + v })),
    );
    await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
  }
  const probe = (await (await fetch(`${server.url}/v1/recommendations?slot=home&session_id=bench-s1&k=10`)).json()) as { fallback: boolean; model_version: string | null };
  if (probe.fallback || !probe.model_version) throw new Error(`the model is not serving: ${JSON.stringify(probe).slice(0, 300)}`);
  console.log(`model ${probe.model_version} serving; Server-Timing of one request: ${(await fetch(`${server.url}/v1/recommendations?slot=home&session_id=bench-s2&k=10`)).headers.get('server-timing')}`);

  let n = 0;
  const recPath = () => {
    n += 1;
    // 80% sessions with history, 20% unknown shoppers
    return n % 5 === 0 ? `/v1/recommendations?slot=home&session_id=new-${n}&k=10` : `/v1/recommendations?slot=home&session_id=${sessions[n % sessions.length]}&k=10`;
  };
  const run = (path: string | (() => string)) =>
    autocannon({
      url: server.url,
      connections: Number(values.connections),
      duration: Number(values.seconds),
      requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: typeof path === 'string' ? path : path() }) }],
    });
  await run('/health'); // warm-up, not reported
  const rows: Record<string, { p50: number[]; p99: number[]; rps: number[]; non2xx: number }> = {
    health: { p50: [], p99: [], rps: [], non2xx: 0 },
    recommendations: { p50: [], p99: [], rps: [], non2xx: 0 },
  };
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const [name, path] of [['health', '/health'], ['recommendations', recPath]] as const) {
      const res = await run(path);
      rows[name]!.p50.push(res.latency.p50);
      rows[name]!.p99.push(res.latency.p99);
      rows[name]!.rps.push(res.requests.average);
      rows[name]!.non2xx += res.non2xx + res.errors;
      console.log(`round ${r + 1} ${name.padEnd(16)} p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms  ${res.requests.average} req/s`);
    }
  }
  const h = rows.health!;
  const rec = rows.recommendations!;
  const fmt = (x: number) => x.toFixed(2);
  const table = [
    `| route | p50 (ms) | p99 (ms) | throughput (req/s) | non-2xx |`,
    `|---|---|---|---|---|`,
    `| GET /health (baseline) | ${fmt(median(h.p50))} | ${fmt(median(h.p99))} | ${Math.round(median(h.rps))} | ${h.non2xx} |`,
    `| GET /v1/recommendations | ${fmt(median(rec.p50))} | ${fmt(median(rec.p99))} | ${Math.round(median(rec.rps))} | ${rec.non2xx} |`,
    `| difference | +${fmt(median(rec.p50) - median(h.p50))} | +${fmt(median(rec.p99) - median(h.p99))} | ×${(median(rec.rps) / median(h.rps)).toFixed(2)} | |`,
  ].join('\n');
  console.log(`\n${table}\n`);
  writeSection(
    'recommendations',
    `## Serving: /v1/recommendations vs /health (\`npm run bench\`)

${nItems.toLocaleString('en-US')} catalog items, model \`${probe.model_version}\` scoring the whole catalog per request; local \`wrangler dev\` (workerd) on loopback,
autocannon with ${values.connections} connections, access log off (wrangler dev relays every console line to Node, a dev-only cost), ${values.rounds} alternating rounds of ${values.seconds} s per route; medians over rounds.
80% of requests come from 300 sessions with live history in their Durable Objects, 20% from unknown sessions. ${machine()}.

${table}`,
  );
} finally {
  await server.stop();
}
