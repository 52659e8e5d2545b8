/**
 * npm run bench — serving latency with a 50,000-item catalog (or --items N) and a model trained for it.
 *
 * Starts `wrangler dev` on loopback with its own local state, publishes a model, seeds the
 * catalog and 300 sessions with history (scripts/bench/setup.ts), then, at each concurrency
 * level, drives load with autocannon at GET /health (the baseline: same worker and middleware,
 * no work) and at GET /v1/recommendations (the request mix in setup.ts), alternating routes
 * round by round in the same run. Per level it prints p50 / p99 / throughput of both routes,
 * their differences, whether the serving target is met (p50 within 3 ms of /health's, p99
 * within 15 ms), and the CPU time workerd spent per request (from /proc: far less sensitive to
 * a busy machine than latency), and how much of that CPU wrangler's dev proxy (a second workerd
 * in front of the worker, absent in production) spent. Before the rounds it restarts wrangler dev and times the first
 * recommendation of the fresh isolate; after them it reads the isolate's JS heap (inspector).
 * Writes the table to docs/benchmarks.md and this size's row of the scaling table there.
 * Not a test: no thresholds.
 *
 *   npm run bench [-- --items 50000 --levels 1,2,4,8 --seconds 10 --rounds 3 --reuse --kinds --kind-rounds 1]
 *   --kinds: afterwards, CPU per request of each kind of request in the mix alone (1 connection,
 *   beside /health), printed as `kind <name> … µs CPU/req`: where the mix's cost comes from.
 *   --kind-rounds N: N such passes and a `kind <name> median Δ …` line each (one pass is ±2 ms).
 */
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { machine, median, writeSection } from '../lib/report';
import { localAdminToken, localServerKeyHeader, ROOT, startDev } from '../lib/wrangler';
import { cpuBetween, devProxyPid, workerdCpu } from './cpu-meter';
import { connectInspector } from '../lib/inspector';
import { dataFor, MIX_DESCRIPTION, MIX_KINDS, openBench, recommendationMix, type MixKind } from './setup';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '50000' },
    levels: { type: 'string', default: '1,2,4,8' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    port: { type: 'string', default: '8797' },
    'inspector-port': { type: 'string', default: '9297' },
    reuse: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    kinds: { type: 'boolean', default: false },
    'kind-rounds': { type: 'string', default: '1' },
  },
});
const nItems = Number(values.items);
const levels = values.levels.split(',').map(Number);
const TARGET = { p50: 3, p99: 15 };

const inspectorPort = Number(values['inspector-port']);
const bench = await openBench({ items: nItems, port: Number(values.port), reuse: values.reuse, inspectorPort });
try {
  console.log(`model ${bench.modelVersion} serving`);
  // A fresh isolate: restart wrangler dev on the same state; its readiness probe is /health, so
  // the first recommendation below is the isolate's first (model, catalog and shards all cold).
  await bench.server.stop();
  bench.server = await startDev({ port: Number(values.port), persistTo: bench.state, vars: bench.vars, inspectorPort });
  const firstPath = `/v1/recommendations?k=10&slot=home&session_id=${bench.sessions[0]}`;
  const timed = async () => {
    const t = performance.now();
    const r = await fetch(`${bench.server.url}${firstPath}`, { headers: localServerKeyHeader() });
    const body = (await r.json()) as { model_version: string | null };
    return { ms: performance.now() - t, model: body.model_version };
  };
  const first = await timed();
  const second = await timed();
  console.log(`fresh isolate: first recommendation ${first.ms.toFixed(1)} ms (model ${first.model}), second ${second.ms.toFixed(1)} ms`);
  const mix = recommendationMix(bench);
  const run = async (connections: number, path: string | (() => string), seconds = Number(values.seconds)) => {
    const cpu0 = workerdCpu(bench.server.child.pid!);
    const res = await autocannon({
      url: bench.server.url,
      connections,
      duration: seconds,
      // The mix names its own session ids, as a storefront backend does (server key).
      headers: localServerKeyHeader(),
      requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: typeof path === 'string' ? path : path() }) }],
    });
    const cpu1 = workerdCpu(bench.server.child.pid!);
    const cpuPerReq = res.requests.total ? (cpuBetween(cpu0, cpu1) * 1000) / res.requests.total : NaN;
    const proxy = devProxyPid(cpu1.keys(), Number(new URL(bench.server.url).port));
    const proxyCpuPerReq = proxy !== null && cpu0.has(proxy) && res.requests.total ? ((cpu1.get(proxy)! - cpu0.get(proxy)!) * 1000) / res.requests.total : NaN;
    return { res, cpuPerReq, proxyCpuPerReq };
  };
  // Warm-up, not reported: JIT, caches, the model, the sessions' objects.
  await run(4, '/health', 3);
  await run(4, mix, 5);

  type Series = { p50: number[]; p99: number[]; rps: number[]; cpu: number[]; proxyCpu: number[]; bad: number };
  const cpuMedian = (xs: number[]) => (xs.some(Number.isFinite) ? median(xs.filter(Number.isFinite)) : NaN);
  const empty = (): Series => ({ p50: [], p99: [], rps: [], cpu: [], proxyCpu: [], bad: 0 });
  const results: { connections: number; health: Series; recs: Series }[] = [];
  for (const connections of levels) {
    const row = { connections, health: empty(), recs: empty() };
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const [name, path] of [['health', '/health'], ['recs', mix]] as const) {
        const { res, cpuPerReq, proxyCpuPerReq } = await run(connections, path);
        const s = row[name];
        s.proxyCpu.push(proxyCpuPerReq);
        s.p50.push(res.latency.p50);
        s.p99.push(res.latency.p99);
        s.rps.push(res.requests.average);
        s.cpu.push(cpuPerReq);
        s.bad += res.non2xx + res.errors;
        console.log(`${connections} conn, round ${r + 1}, ${name.padEnd(6)} p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms  ${res.requests.average} req/s  ${cpuPerReq.toFixed(0)} µs CPU/req`);
      }
    }
    results.push(row);
    // Of the CPU above, what wrangler's dev proxy spent (production has no such hop).
    const proxy = { health: cpuMedian(row.health.proxyCpu), recs: cpuMedian(row.recs.proxyCpu) };
    if (Number.isFinite(proxy.health)) {
      const own = (s: Series, p: number) => (cpuMedian(s.cpu) - p).toFixed(0);
      console.log(`${connections} conn, dev proxy share: health ${proxy.health.toFixed(0)} / recs ${proxy.recs.toFixed(0)} µs CPU/req in wrangler's proxy; the worker's own workerd ${own(row.health, proxy.health)} / ${own(row.recs, proxy.recs)}`);
    }
  }

  if (values.kinds) {
    const seconds = Math.max(2, Number(values.seconds) / 2);
    // --kind-rounds N: N passes, each kind beside a /health run of its own; then the median difference per kind.
    const deltas = new Map<MixKind, number[]>();
    for (let pass = 0; pass < Number(values['kind-rounds']); pass++) {
      const { cpuPerReq: healthCpu } = await run(1, '/health', seconds);
      for (const kind of Object.keys(MIX_KINDS) as MixKind[]) {
        const { res, cpuPerReq } = await run(1, recommendationMix(bench, kind), seconds);
        deltas.set(kind, [...(deltas.get(kind) ?? []), cpuPerReq - healthCpu]);
        console.log(`kind ${kind.padEnd(12)} p50 ${res.latency.p50} ms  ${res.requests.average} req/s  ${cpuPerReq.toFixed(0)} µs CPU/req  (/health ${healthCpu.toFixed(0)}, Δ ${(cpuPerReq - healthCpu).toFixed(0)})  non-2xx ${res.non2xx}`);
      }
    }
    if (Number(values['kind-rounds']) > 1) for (const [kind, d] of deltas) console.log(`kind ${kind.padEnd(12)} median Δ ${cpuMedian(d).toFixed(0)} µs CPU/req over ${d.length} passes`);
  }

  const inspector = await connectInspector(inspectorPort).catch(() => null);
  const heap = await inspector?.heap();
  inspector?.close();
  const health = (await (await fetch(`${bench.server.url}/v1/admin/health`, { headers: { authorization: `Bearer ${localAdminToken()}` } })).json()) as {
    model?: { artifactBytes?: number | null; neighbours?: { bytes: number; reads: number; entries: number } };
    storage?: { catalog?: { snapshot_bytes?: number; items?: number } };
  };
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const table = [
    '| connections | /health p50 / p99 (ms) | /v1/recommendations p50 / p99 (ms) | Δ p50 (≤ 3) | Δ p99 (≤ 15) | target met | req/s health / recs | workerd CPU µs/req health / recs | non-2xx |',
    '|---:|---:|---:|---:|---:|:---:|---:|---:|---:|',
    ...results.map(({ connections, health: h, recs: r }) => {
      const d50 = median(r.p50) - median(h.p50);
      const d99 = median(r.p99) - median(h.p99);
      const met = d50 <= TARGET.p50 && d99 <= TARGET.p99;
      return `| ${connections} | ${f(median(h.p50))} / ${f(median(h.p99))} | ${f(median(r.p50))} / ${f(median(r.p99))} | ${d50 >= 0 ? '+' : ''}${f(d50)} | ${d99 >= 0 ? '+' : ''}${f(d99)} | ${met ? 'yes' : '**no**'} | ${Math.round(median(h.rps))} / ${Math.round(median(r.rps))} | ${f(cpuMedian(h.cpu), 0)} / ${f(cpuMedian(r.cpu), 0)} | ${h.bad + r.bad} |`;
    }),
  ].join('\n');
  console.log(`\n${table}\n`);
  const mb = (b: number | null | undefined) => (b === null || b === undefined ? 'n/a' : (b / 1048576).toFixed(1));
  const one = results.find((r) => r.connections === 1) ?? results[0]!;
  const four = results.find((r) => r.connections === 4);
  const cpuDelta = cpuMedian(one.recs.cpu) - cpuMedian(one.health.cpu);
  const scalingRow = {
    items: nItems,
    line: `| ${nItems.toLocaleString('en-US')} | ${dataFor(nItems)} | ${f(cpuMedian(one.health.cpu) / 1000, 2)} / ${f(cpuMedian(one.recs.cpu) / 1000, 2)} (${cpuDelta >= 0 ? '+' : ''}${f(cpuDelta / 1000, 2)}) | ${f(median(one.health.p50))} / ${f(median(one.health.p99))} | ${f(median(one.recs.p50))} / ${f(median(one.recs.p99))} | ${four ? `${Math.round(median(four.health.rps))} / ${Math.round(median(four.recs.rps))} (${f((100 * median(four.recs.rps)) / median(four.health.rps), 0)}%)` : 'n/a'} | ${mb(heap?.used)} / ${mb(heap?.backing)} | ${mb(health.model?.artifactBytes)} + ${mb(health.storage?.catalog?.snapshot_bytes)} | ${f(first.ms, 0)} / ${f(second.ms, 0)} | ${results.reduce((s, r) => s + r.health.bad + r.recs.bad, 0)} |`,
  };
  console.log(`scaling row: ${scalingRow.line}`);
  if (!values['no-write']) {
    writeSection(
      'recommendations',
      `## Serving: /v1/recommendations vs /health (\`npm run bench\`)

${nItems.toLocaleString('en-US')} catalog items, model \`${bench.modelVersion}\` (retrieve from neighbour shards, rank candidates) on ${dataFor(nItems)} data; local \`wrangler dev\` (workerd) on loopback,
access log off (wrangler dev relays every console line to Node, a dev-only cost). Request mix: ${MIX_DESCRIPTION}.
At each concurrency level, ${values.rounds} alternating rounds of ${values.seconds} s per route (autocannon, keep-alive); medians over rounds.
Target (serving issue): recommendations p50 within 3 ms of /health's p50 and p99 within 15 ms, in the same run.
CPU µs/req: user + system CPU of the workerd processes during the round divided by the requests answered (the load
generator and wrangler's Node process are not counted). ${machine()}.

${table}`,
    );
    writeScalingRow(scalingRow);
  }
} finally {
  await bench.server.stop();
}

/** One row per catalog size in docs/benchmarks.md's scaling table (kept in size order across runs). */
function writeScalingRow(row: { items: number; line: string }): void {
  const file = resolve(ROOT, 'docs/benchmarks.md');
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- scaling:rows -->';
  const at = text.indexOf(begin);
  const rows = new Map<number, string>();
  if (at >= 0) {
    const end = text.indexOf('<!-- /scaling:rows -->', at);
    for (const l of text.slice(at + begin.length, end).split('\n')) {
      const m = /^\| ([\d,]+) \|/.exec(l);
      if (m) rows.set(Number(m[1]!.replace(/,/g, '')), l);
    }
  }
  rows.set(row.items, row.line);
  writeSection(
    'scaling',
    `## Scaling with the catalog (\`npm run bench -- --items N\`)

Each row is one \`npm run bench -- --items N\` run (the last one for that size), /health measured in the same run.
CPU ms/req: workerd CPU per request at 1 connection, /health / recommendations (difference). p50 / p99 at 1 connection.
req/s at 4 connections, /health / recommendations (share). JS heap: the worker isolate's V8 heap after the rounds
(used) / ArrayBuffer and WASM memory outside it. Artifacts: the model version's files + the catalog snapshot (MiB).
First request: the first and second recommendation of a freshly started isolate (ms, client side).
Data: the demo shop below 100,000 items, a synthetic store with five events per item from there (\`npm run data:synthetic\`).

| items | data | CPU ms/req health / recs (Δ) | /health p50 / p99 ms | recs p50 / p99 ms | req/s health / recs @4 | JS heap used / outside MiB | artifacts MiB | first request ms (2nd) | non-2xx |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|
${begin}
${[...rows.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l).join('\n')}
<!-- /scaling:rows -->`,
  );
}
