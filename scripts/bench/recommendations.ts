/**
 * npm run bench — serving latency with a 50,000-item catalog and a model trained for it.
 *
 * Starts `wrangler dev` on loopback with its own local state, publishes a model, seeds the
 * catalog and 300 sessions with history (scripts/bench/setup.ts), then, at each concurrency
 * level, drives load with autocannon at GET /health (the baseline: same worker and middleware,
 * no work) and at GET /v1/recommendations (the request mix in setup.ts), alternating routes
 * round by round in the same run. Per level it prints p50 / p99 / throughput of both routes,
 * their differences, whether the serving target is met (p50 within 3 ms of /health's, p99
 * within 15 ms), and the CPU time workerd spent per request (from /proc: far less sensitive to
 * a busy machine than latency). Writes the table to docs/benchmarks.md. Not a test: no thresholds.
 *
 *   npm run bench [-- --items 50000 --levels 1,2,4,8 --seconds 10 --rounds 3 --reuse]
 */
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { machine, median, writeSection } from '../lib/report';
import { cpuBetween, workerdCpu } from './cpu-meter';
import { MIX_DESCRIPTION, openBench, recommendationMix } from './setup';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '50000' },
    levels: { type: 'string', default: '1,2,4,8' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    port: { type: 'string', default: '8797' },
    reuse: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const nItems = Number(values.items);
const levels = values.levels.split(',').map(Number);
const TARGET = { p50: 3, p99: 15 };

const bench = await openBench({ items: nItems, port: Number(values.port), reuse: values.reuse });
try {
  console.log(`model ${bench.modelVersion} serving`);
  const mix = recommendationMix(bench);
  const run = async (connections: number, path: string | (() => string), seconds = Number(values.seconds)) => {
    const cpu0 = workerdCpu(bench.server.child.pid!);
    const res = await autocannon({
      url: bench.server.url,
      connections,
      duration: seconds,
      requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: typeof path === 'string' ? path : path() }) }],
    });
    const cpuPerReq = res.requests.total ? (cpuBetween(cpu0, workerdCpu(bench.server.child.pid!)) * 1000) / res.requests.total : NaN;
    return { res, cpuPerReq };
  };
  // Warm-up, not reported: JIT, caches, the model, the sessions' objects.
  await run(4, '/health', 3);
  await run(4, mix, 5);

  type Series = { p50: number[]; p99: number[]; rps: number[]; cpu: number[]; bad: number };
  const cpuMedian = (xs: number[]) => (xs.some(Number.isFinite) ? median(xs.filter(Number.isFinite)) : NaN);
  const empty = (): Series => ({ p50: [], p99: [], rps: [], cpu: [], bad: 0 });
  const results: { connections: number; health: Series; recs: Series }[] = [];
  for (const connections of levels) {
    const row = { connections, health: empty(), recs: empty() };
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const [name, path] of [['health', '/health'], ['recs', mix]] as const) {
        const { res, cpuPerReq } = await run(connections, path);
        const s = row[name];
        s.p50.push(res.latency.p50);
        s.p99.push(res.latency.p99);
        s.rps.push(res.requests.average);
        s.cpu.push(cpuPerReq);
        s.bad += res.non2xx + res.errors;
        console.log(`${connections} conn, round ${r + 1}, ${name.padEnd(6)} p50 ${res.latency.p50} ms  p99 ${res.latency.p99} ms  ${res.requests.average} req/s  ${cpuPerReq.toFixed(0)} µs CPU/req`);
      }
    }
    results.push(row);
  }

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
  if (!values['no-write']) {
    writeSection(
      'recommendations',
      `## Serving: /v1/recommendations vs /health (\`npm run bench\`)

${nItems.toLocaleString('en-US')} catalog items, model \`${bench.modelVersion}\` scoring the whole catalog per request; local \`wrangler dev\` (workerd) on loopback,
access log off (wrangler dev relays every console line to Node, a dev-only cost). Request mix: ${MIX_DESCRIPTION}.
At each concurrency level, ${values.rounds} alternating rounds of ${values.seconds} s per route (autocannon, keep-alive); medians over rounds.
Target (serving issue): recommendations p50 within 3 ms of /health's p50 and p99 within 15 ms, in the same run.
CPU µs/req: user + system CPU of the workerd processes during the round divided by the requests answered (the load
generator and wrangler's Node process are not counted). ${machine()}.

${table}`,
    );
  }
} finally {
  await bench.server.stop();
}
