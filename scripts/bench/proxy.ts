/**
 * npm run bench:proxy — the HTML proxy's cost: time to first byte and total time for a page
 * with three slots (the demo origin's /bench/three-slots, never cached), straight from the
 * origin versus through the worker (wrangler dev on loopback, local D1/R2/DO, demo model),
 * measured in the same run with requests interleaved one at a time, each path on its own
 * keep-alive connection (as a browser would):
 *   origin          GET origin/bench/three-slots
 *   worker /health  the floor: wrangler dev + workerd + our middleware, no proxy work
 *   proxy anon      GET worker/bench/three-slots, no consent (non-personalized slots, no cookie)
 *   proxy new       consent, no session cookie yet (a first page view: a session is minted)
 *   proxy full      consent + a session with history
 * TTFB = first byte of the body; "slot" = when the bytes of the first filled slot arrived (its
 * recommendation had finished by then). Prints medians / p90, the TTFB the proxy adds over the
 * origin and over the worker's floor, and how long after the first bytes the first filled slot
 * came (near 0: the first bytes waited for its inference); writes the "HTML proxy" section of
 * docs/benchmarks.md. Access log off, as in `npm run bench`. Not a test: no thresholds.
 *
 *   npm run bench:proxy [-- --requests 400 --items 3000 --no-write]
 */
import { Agent, request } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareDemo } from '../lib/demo';
import { startDemoOrigin } from '../lib/demo-origin';
import { machine, median, writeSection } from '../lib/report';
import { directWorkerUrl, localAdminToken, migrate, ROOT, startDev } from '../lib/wrangler';
import { seed } from '../seed';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '400' },
    items: { type: 'string', default: '3000' },
    port: { type: 'string', default: '8791' },
    'no-write': { type: 'boolean', default: false },
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
  /** when the first filled slot's bytes arrived (NaN: no slot filled) */
  slot: number;
  total: number;
  bytes: number;
}

const FILLED = 'data-p13n-state="filled"';

function get(url: string, agent: Agent, headers: Record<string, string> = {}): Promise<Sample & { body: string }> {
  return new Promise((resolveP, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    let slot = NaN;
    let text = '';
    const chunks: Buffer[] = [];
    const req = request(url, { headers: { accept: 'text/html', ...headers }, agent }, (res) => {
      res.on('data', (c: Buffer) => {
        const now = performance.now() - t0;
        if (!ttfb) ttfb = now;
        chunks.push(c);
        if (Number.isNaN(slot)) {
          text += c.toString('latin1');
          if (text.includes(FILLED)) slot = now;
        }
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolveP({ ttfb, slot, total: performance.now() - t0, bytes: Buffer.byteLength(body), body });
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
const server = await startDev({ port: Number(values.port), persistTo: state, vars: { ORIGIN_URL: origin.url, ACCESS_LOG: 'off' } });
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
  const agent = () => new Agent({ keepAlive: true, maxSockets: 1 });
  const agents: Agent[] = [];
  const via = (base: string, path2: string, headers?: Record<string, string>) => {
    const a = agent();
    agents.push(a);
    return () => get(`${base}${path2}`, a, headers);
  };
  const full = { cookie: `p13n_consent=granted; p13n_sid=${sid}` };
  const fresh = { cookie: 'p13n_consent=granted' };
  const variants: Record<string, () => Promise<Sample & { body: string }>> = {
    origin: via(origin.url, path),
    'worker /health': via(server.url, '/health'),
    'proxy anon': via(server.url, path),
    'proxy new': via(server.url, path, fresh),
    'proxy full': via(server.url, path, full),
  };
  // The same requests straight at the worker's workerd, without wrangler dev's proxy hop.
  const direct = await directWorkerUrl(server);
  if (direct) {
    Object.assign(variants, {
      'direct /health': via(direct, '/health'),
      'direct proxy anon': via(direct, path),
      'direct proxy new': via(direct, path, fresh),
      'direct proxy full': via(direct, path, full),
    });
  } else console.log('the worker runtime behind wrangler dev was not found: direct rows skipped');
  type Name = string;
  const check = await variants['proxy full']!();
  const filled = (check.body.match(/data-p13n-state="filled"/g) ?? []).length;
  console.log(`page: ${check.bytes} bytes through the proxy, ${filled}/3 slots filled`);
  for (let i = 0; i < 30; i++) for (const v of Object.values(variants)) await v(); // warm-up
  const samples = new Map<Name, Sample[]>(Object.keys(variants).map((k) => [k, []]));
  let filledAll = 0;
  for (let i = 0; i < N; i++) {
    for (const name of Object.keys(variants) as Name[]) {
      const s = await variants[name]!();
      samples.get(name)!.push(s);
      if (name === 'proxy full' && (s.body.match(/data-p13n-state="filled"/g) ?? []).length === 3) filledAll++;
    }
  }
  const row = (name: Name) => {
    const all = samples.get(name)!;
    const t = all.map((s) => s.ttfb);
    const tot = all.map((s) => s.total);
    const filledS = all.filter((s) => !Number.isNaN(s.slot));
    // How long after the first bytes the first filled slot came: near 0, the first bytes waited for that slot's
    // recommendation (they left together); clearly above 0, they went out while it was being computed.
    const gaps = filledS.map((s) => s.slot - s.ttfb);
    return { name, ttfbP50: median(t), ttfbP90: pct(t, 0.9), totalP50: median(tot), totalP90: pct(tot, 0.9), slotP50: filledS.length ? median(filledS.map((s) => s.slot)) : NaN, gapP50: gaps.length ? median(gaps) : NaN, gapP10: gaps.length ? pct(gaps, 0.1) : NaN, filled: filledS.length };
  };
  const rows = (Object.keys(variants) as Name[]).map(row);
  const o = rows[0]!;
  const byName = new Map(rows.map((r) => [r.name, r]));
  const floorOf = (name: string) => byName.get(name.startsWith('direct') ? 'direct /health' : 'worker /health')!;
  const ms = (x: number) => (Number.isNaN(x) ? '—' : `${x.toFixed(2)} ms`);
  const plus = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} ms`;
  const lines = [
    `| path | TTFB p50 | TTFB p90 | first filled slot p50 | total p50 | total p90 | TTFB p50 vs origin (≤ +2 ms?) | TTFB p50 vs worker /health | first filled slot − TTFB, p50 / p10 |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...rows.map((r) => {
      const proxied = r.name.includes('proxy');
      const vsOrigin = r.ttfbP50 - o.ttfbP50;
      return `| ${r.name} | ${ms(r.ttfbP50)} | ${ms(r.ttfbP90)} | ${ms(r.slotP50)} | ${ms(r.totalP50)} | ${ms(r.totalP90)} | ${r.name === 'origin' ? '—' : `${plus(vsOrigin)}${proxied ? (vsOrigin <= 2 ? ' (yes)' : ' (**no**)') : ''}`} | ${proxied ? plus(r.ttfbP50 - floorOf(r.name).ttfbP50) : '—'} | ${proxied && r.filled ? `${ms(r.gapP50)} / ${ms(r.gapP10)} (${r.filled} pages)` : '—'} |`;
    }),
  ];
  console.log('\n' + lines.join('\n'));
  for (const a of agents) a.destroy();
  if (!values['no-write'])
    writeSection(
    'proxy',
    `## HTML proxy

\`npm run bench:proxy\` — ${machine()}. A ${check.bytes}-byte page with three slots (demo origin \`${path}\`, \`no-store\`, so every proxied request also fetches the origin), ${N} sequential requests per path, interleaved in one run after 30 warm-up rounds, one keep-alive connection per path; ${values.items}-item catalog, demo model active, access log off. TTFB is the first body byte at the client; "first filled slot" is when the bytes of the first personalized slot arrived (its recommendation had finished by then): when that comes clearly after TTFB, the page's first bytes went out while the slot was still being computed; a gap near zero means they waited for it. \`proxy full\`: consent and a session with history (personalized, ${filledAll}/${N} pages with all three slots filled); \`proxy new\`: consent, no session cookie yet (first page view); \`proxy anon\`: no consent (popular lists, no cookie). Target (serving issue): the proxy adds at most 2 ms p50 to TTFB, and the first bytes arrive before inference finishes. Through \`wrangler dev\` on loopback: the \`worker\` and \`proxy\` rows also pay wrangler's local dev proxy (a second workerd in front of the worker, for live reload), which \`worker /health\` (no proxy work) shows; the \`direct\` rows send the same requests straight to the worker's own workerd socket, as production has no such hop.

${lines.join('\n')}`,
  );
  if (!values['no-write']) console.log('\nwritten to docs/benchmarks.md (section "HTML proxy")');
} finally {
  await server.stop();
  await origin.stop();
}
