/**
 * npm run bench:events — the event ingestion path (POST /v1/events → queue → consumer → R2 log)
 * on a local `wrangler dev` with its own fresh state (.tmp/bench-events), no model, no catalog:
 *   - throughput: --connections (8) keep-alive clients each sending batches of 100 events from
 *     100 different sessions (a storefront backend forwarding traffic; sessions drawn from a pool
 *     of --sessions) for --seconds per round: events/s accepted, latency per batch, non-2xx;
 *   - a browser beacon: a 10-event batch for one session, sequentially, interleaved with /health
 *     in the same run (p50 of each and the difference), through wrangler's dev proxy and straight
 *     at the worker's own socket;
 *   - after each round, how long the consumer takes to write every accepted event to the R2 log
 *     (the admin stats count the log's manifest), so the sustained end-to-end rate is known too;
 *   - the storage operations per 1,000,000 events (queue, Durable Objects, D1, R2), counted from
 *     the run where the run can count them and derived from the code otherwise (each row says
 *     which), and their price at Cloudflare's published rates; the bill for 10 million events a day.
 * Medians over --rounds. Writes docs/benchmarks.md (section "events") and docs/costs.md.
 *
 *   npm run bench:events [-- --port 8795 --rounds 3 --seconds 10 --connections 8 --beacons 200 --sessions 2000 --drain-limit 90 --no-write --profile --state-dir DIR]
 */
import { Agent, request as httpRequest } from 'node:http';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MESSAGE_ROWS, toMessages } from '../../worker/events/message';
import type { EventRow } from '../../worker/db/schema';
import { DO_ROWS_PER_CALL, DO_ROWS_PER_EVENT } from '../lib/event-costs';
import { machine, median, writeSection } from '../lib/report';
import { profileDuring } from './cpu-profile';
import { directWorkerUrl, localAdminToken, localServerKeyHeader, migrate, ROOT, startDev } from '../lib/wrangler';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8795' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    beacons: { type: 'string', default: '200' },
    sessions: { type: 'string', default: '2000' },
    'drain-limit': { type: 'string', default: '90' },
    // CPU profile of workerd during the first round's load (where a batch's time goes), through the inspector.
    profile: { type: 'boolean', default: false },
    'inspector-port': { type: 'string', default: '9331' },
    'state-dir': { type: 'string' },
    write: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const PORT = Number(values.port);
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const BEACONS = Number(values.beacons);
const POOL = Number(values.sessions);
const DRAIN_LIMIT_MS = Number(values['drain-limit']) * 1000;
const BATCH = 100;
const BEACON = 10;
const TOKEN = localAdminToken();
// Backend batches and beacons both name their own session ids here: sent with the server key.
const BACKEND = localServerKeyHeader();

const work = resolve(ROOT, '.tmp/bench-events');
// Local Durable Object, D1 and R2 state is SQLite files that workerd commits (fsync) on its one
// thread: on this machine's disk (~3 ms per synchronous 4 KB write) every session-object commit
// then stalls the whole worker, requests included, which measures the disk, not the worker
// (production storage does not run on the isolate's thread). Default: a tmpfs when there is one.
const state = values['state-dir'] ? resolve(values['state-dir']) : existsSync('/dev/shm') ? `/dev/shm/p13n-bench-events-${process.pid}` : resolve(work, 'state');
rmSync(state, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
migrate({ persistTo: state });
const server = await startDev({ port: PORT, persistTo: state, vars: { ACCESS_LOG: 'off' }, ...(values.profile ? { inspectorPort: Number(values['inspector-port']) } : {}) });
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS + 2 });

interface Answer {
  status: number;
  text: string;
  ms: number;
}
function send(base: string, method: string, path: string, body?: string): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolveAnswer) => {
    const req = httpRequest(`${base}${path}`, { method, agent, headers: { 'x-p13n-consent': 'granted', ...BACKEND, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveAnswer({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
      res.on('error', () => resolveAnswer({ status: 0, text: '', ms: performance.now() - t0 }));
    });
    req.on('error', () => resolveAnswer({ status: 0, text: '', ms: performance.now() - t0 }));
    req.end(body);
  });
}
async function admin(path: string): Promise<Record<string, any>> {
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!r.ok) throw new Error(`${path} answered ${r.status}`);
  return (await r.json()) as Record<string, any>;
}

const TYPES = ['view', 'view', 'view', 'impression', 'impression', 'click', 'add_to_cart', 'purchase'] as const;
let seq = 0;
const ev = (session: string) => {
  const n = seq++;
  const type = TYPES[n % TYPES.length]!;
  return { event_id: `be-${process.pid}-${n}`, type, item_id: `item-${(n * 7919) % 5000}`, session_id: session, timestamp: Date.now() - 1000, ...(type === 'purchase' ? { value: 19.99 } : {}) };
};
/** 100 events, one for each of 100 different sessions of the pool. */
function backendBatch(): string {
  const start = Math.floor(Math.random() * POOL);
  const stride = 1 + Math.floor(Math.random() * 97);
  return JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => ev(`be-s${(start + i * stride) % POOL}`)) });
}
function beaconBatch(i: number): string {
  const session = `beacon-s${i % 50}`;
  return JSON.stringify({ events: Array.from({ length: BEACON }, () => ev(session)) });
}

const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
};

interface Round {
  eventsPerSec: number;
  batchP50: number;
  batchP99: number;
  non2xx: number;
  accepted: number;
  drainS: number;
  endToEnd: number;
  health: number;
  beacon: number;
  healthDirect: number;
  beaconDirect: number;
}
const rounds: Round[] = [];
let totalAccepted = 0;
let requests = { backend: 0, beacon: 0 };
let non2xxTotal = 0;

/** /health and a 10-event beacon, alternated, one request at a time. */
async function sequential(base: string, n: number): Promise<{ health: number; beacon: number; non2xx: number; accepted: number }> {
  const h: number[] = [];
  const b: number[] = [];
  let bad = 0;
  let accepted = 0;
  for (let i = 0; i < n; i++) {
    const a = await send(base, 'GET', '/health');
    if (a.status !== 200) bad++;
    h.push(a.ms);
    const e = await send(base, 'POST', '/v1/events', beaconBatch(i));
    if (e.status !== 200) bad++;
    else accepted += (JSON.parse(e.text) as { accepted: number }).accepted;
    b.push(e.ms);
    requests.beacon++;
  }
  return { health: p(h, 0.5), beacon: p(b, 0.5), non2xx: bad, accepted };
}

try {
  const direct = await directWorkerUrl(server);
  console.log(`bench:events on ${server.url}${direct ? ` (worker socket ${direct})` : ''}: ${ROUNDS} rounds of ${SECONDS} s with ${CONNECTIONS} connections × ${BATCH}-event batches from ${BATCH} sessions (pool ${POOL}), then ${BEACONS} sequential ${BEACON}-event beacons vs /health`);
  // Warm-up: isolate, session objects, the queue consumer.
  await sequential(server.url, 20);
  for (let i = 0; i < 10; i++) await send(server.url, 'POST', '/v1/events', backendBatch());
  let logged = 0;
  for (let last = -1; logged !== last; ) {
    last = logged;
    await new Promise((r) => setTimeout(r, 3000));
    logged = (await admin('/v1/admin/stats')).events_total as number;
  }
  const before = await admin('/v1/admin/stats');

  for (let r = 0; r < ROUNDS; r++) {
    // Sequential first, on an idle worker (the consumer has caught up with the previous round).
    const seqProxy = await sequential(server.url, BEACONS);
    const seqDirect = direct ? await sequential(direct, BEACONS) : { health: NaN, beacon: NaN, non2xx: 0, accepted: 0 };
    let accepted = seqProxy.accepted + seqDirect.accepted;
    let non2xx = seqProxy.non2xx + seqDirect.non2xx;

    const lat: number[] = [];
    let loadAccepted = 0;
    const t0 = performance.now();
    const end = t0 + SECONDS * 1000;
    const load = async () => {
      let n = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < end) {
            const a = await send(server.url, 'POST', '/v1/events', backendBatch());
            lat.push(a.ms);
            requests.backend++;
            n++;
            if (a.status < 200 || a.status >= 300) non2xx++;
            else {
              const body = JSON.parse(a.text) as { accepted: number; buffered?: number };
              loadAccepted += body.accepted + (body.buffered ?? 0);
            }
          }
        }),
      );
      return n;
    };
    if (values.profile && r === 0) {
      const out = resolve(work, 'events.cpuprofile');
      console.log(`CPU profile of workerd during round 1 (${out}):\n${await profileDuring(Number(values['inspector-port']), load, out)}`);
    } else await load();
    const loadS = (performance.now() - t0) / 1000;
    accepted += loadAccepted;
    totalAccepted += accepted;
    non2xxTotal += non2xx;
    // How long until the consumer has every accepted event in the R2 log.
    const target = (before.events_total as number) + totalAccepted;
    const d0 = performance.now();
    let now = 0;
    while ((now = (await admin('/v1/admin/stats').catch(() => ({ events_total: 0 }))).events_total as number) < target && performance.now() - d0 < DRAIN_LIMIT_MS) {
      await new Promise((res) => setTimeout(res, 500));
    }
    const drainS = (performance.now() - d0) / 1000;
    if (now < target) console.warn(`round ${r + 1}: the log has ${target - now} events fewer than accepted after ${drainS.toFixed(0)} s`);
    const round: Round = {
      eventsPerSec: loadAccepted / loadS,
      batchP50: p(lat, 0.5),
      batchP99: p(lat, 0.99),
      non2xx,
      accepted: loadAccepted,
      drainS,
      endToEnd: loadAccepted / (loadS + drainS),
      health: seqProxy.health,
      beacon: seqProxy.beacon,
      healthDirect: seqDirect.health,
      beaconDirect: seqDirect.beacon,
    };
    rounds.push(round);
    console.log(
      `round ${r + 1}: ${Math.round(round.eventsPerSec)} events/s accepted (batch p50 ${round.batchP50.toFixed(1)} / p99 ${round.batchP99.toFixed(1)} ms, non-2xx ${non2xx}); log caught up ${drainS.toFixed(1)} s after the load (${Math.round(round.endToEnd)} events/s end to end); beacon p50 ${round.beacon.toFixed(2)} ms vs /health ${round.health.toFixed(2)} ms${direct ? `; direct ${round.beaconDirect.toFixed(2)} vs ${round.healthDirect.toFixed(2)} ms` : ''}`,
    );
  }
  const after = await admin('/v1/admin/stats');
  const logged2 = (after.event_log.events as number) - (before.event_log.events as number);
  const objects = (after.event_log.objects as number) - (before.event_log.objects as number);
  const logBytes = (after.event_log.bytes as number) - (before.event_log.bytes as number);
  const d1Bytes = (after.d1_bytes as number) - (before.d1_bytes as number);
  report({ logged: logged2, objects, logBytes, d1Bytes, direct: !!direct });
} finally {
  await server.stop();
  agent.destroy();
  if (state.startsWith('/dev/shm/')) rmSync(state, { recursive: true, force: true });
}

function report(run: { logged: number; objects: number; logBytes: number; d1Bytes: number; direct: boolean }): void {
  const m = (f: (r: Round) => number) => median(rounds.map(f));
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  const int = (x: number) => Math.round(x).toLocaleString('en-US');
  const eps = m((r) => r.eventsPerSec);
  const diff = m((r) => r.beacon - r.health);
  const diffDirect = m((r) => r.beaconDirect - r.healthDirect);
  const load = loadavg()[0]!.toFixed(2);
  const host = `${process.platform}/${process.arch}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}; load average ${load} at the end`;
  const perRound = rounds
    .map(
      (r, i) =>
        `| ${i + 1} | ${int(r.eventsPerSec)} | ${f1(r.batchP50)} / ${f1(r.batchP99)} | ${r.non2xx} | ${f1(r.drainS)} | ${int(r.endToEnd)} | ${f2(r.beacon)} / ${f2(r.health)} (${r.beacon - r.health >= 0 ? '+' : ''}${f2(r.beacon - r.health)}) | ${run.direct ? `${f2(r.beaconDirect)} / ${f2(r.healthDirect)} (${r.beaconDirect - r.healthDirect >= 0 ? '+' : ''}${f2(r.beaconDirect - r.healthDirect)})` : '—'} |`,
    )
    .join('\n');
  const bench = `## Event ingestion (\`npm run bench:events\`)

\`npm run bench:events\` — ${machine()}; ${host}. Fresh local state ${state.startsWith('/dev/shm/') ? 'on a tmpfs (/dev/shm) ' : ''}(no model, no catalog: items are unknown to the
consumer), access log off, rate limits off, \`wrangler dev\` on port ${PORT}. Per round: ${BEACONS} sequential
${BEACON}-event batches for one session (a browser beacon; 50 sessions in turn, new event ids) alternated with \`/health\`, through
wrangler's dev proxy and straight at the worker's own socket; then ${SECONDS} s of ${CONNECTIONS} keep-alive connections sending
batches of ${BATCH} events from ${BATCH} different sessions (drawn from a pool of ${POOL.toLocaleString('en-US')}; a storefront backend); then the
time until the consumer has every accepted event in the R2 log (admin stats, i.e. the manifest). Medians over ${ROUNDS} rounds; the
client runs on the same 2 cores as workerd (both wrangler's dev proxy and the worker).

| figure | median of ${ROUNDS} rounds | target (issue 12) |
|---|---:|---|
| events/s accepted, ${CONNECTIONS} connections × ${BATCH} events from ${BATCH} sessions | **${int(eps)}** | ≥ 10,000 |
| latency per ${BATCH}-event batch p50 / p99 | ${f1(m((r) => r.batchP50))} / ${f1(m((r) => r.batchP99))} ms | |
| time for the consumer to log a round's events after it ended | ${f1(m((r) => r.drainS))} s | |
| events/s end to end (accepted and in the R2 log) | ${int(m((r) => r.endToEnd))} | |
| ${BEACON}-event one-session batch p50 vs \`/health\` p50, sequential, same run | ${f2(m((r) => r.beacon))} vs ${f2(m((r) => r.health))} ms (**${diff >= 0 ? '+' : ''}${f2(diff)} ms**) | within 5 ms |
| the same straight at the worker's socket | ${run.direct ? `${f2(m((r) => r.beaconDirect))} vs ${f2(m((r) => r.healthDirect))} ms (${diffDirect >= 0 ? '+' : ''}${f2(diffDirect)} ms)` : 'not found'} | |
| non-2xx answers (all requests) | ${non2xxTotal} of ${int(requests.backend + requests.beacon * 2)} | 0 |

| round | events/s | batch p50 / p99 (ms) | non-2xx | log caught up (s) | end to end (events/s) | beacon / health p50 (ms) | direct beacon / health p50 (ms) |
|---:|---:|---:|---:|---:|---:|---:|---:|
${perRound}

Before (issue 12, D1 event log, \`npm start\`): 139–148 events/s with 8 connections × 100 events from 100 sessions (5.2–5.6 s
per batch); a 10-event one-session batch 22.6 ms sequentially against /health's 7.4 ms. With the queue and the R2 log but
before the accept-path work (2026-12-02 02:55, state on disk): 379 events/s, beacon +9.7 ms over /health.`;
  console.log(`\n${bench}\n`);
  const costs = costTable(run);
  console.log(costs);
  if (values.write) {
    writeSection('events', bench);
    writeFileSync(resolve(ROOT, 'docs/costs.md'), costs);
    console.log('figures written to docs/benchmarks.md (events) and docs/costs.md');
  }
}

/**
 * Storage operations per 1,000,000 events for the two shapes of traffic, and their price. What the
 * run counts: accepted events, R2 log objects and their bytes (manifest), D1 growth. What comes from
 * the code: messages per request (toMessages), consumer deliveries (max_batch_size = 100 messages),
 * session-object calls per delivery (one per distinct session), rows each call writes (claim/ingest).
 */
function costTable(run: { logged: number; objects: number; logBytes: number; d1Bytes: number }): string {
  const M = 1_000_000;
  // Messages per request, from the code itself (same cut as the worker).
  const rowsOf = (sessions: number, n: number): EventRow[] =>
    Array.from({ length: n }, (_, i) => ({ eventId: `x-${i}-${'e'.repeat(20)}`, type: 'view', itemId: `item-${i}`, sessionKey: 'k'.repeat(43) + (i % sessions), userKey: null, ts: Date.now(), recommendationId: null, slot: null, value: null, receivedAt: Date.now() }));
  const backendMsgs = toMessages(rowsOf(BATCH, BATCH), Date.now());
  const beaconMsgs = toMessages(rowsOf(1, BEACON), Date.now());
  const msgBytes = (ms: ReturnType<typeof toMessages>) => ms.reduce((a, x) => a + JSON.stringify(x).length + 100, 0) / ms.length;
  const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / 64_000));
  const eventsPerObject = run.objects ? run.logged / run.objects : NaN;
  const bytesPerEvent = run.logged ? run.logBytes / run.logged : NaN;
  // Session-object rows written per new event and per call: measured inside workerd by test/worker/event-costs.test.ts.
  const doRowsPerEvent = DO_ROWS_PER_EVENT;
  const doRowsPerCall = DO_ROWS_PER_CALL;
  // D1 rows per message: the manifest row (+ its hour index entry); rec_ctr only for messages with
  // recommendation impressions/clicks (not in this run); the session index only for signed-in shoppers.
  // WITHOUT ROWID manifest keyed by the object key (migration 0008): one row, no index entry.
  const d1RowsPerMessage = 1;
  // The console's KPI rollups (worker/events/kpi-rollup.ts), per 1,000,000 events at 10 M a day: one upsert per
  // (grain, bucket, slot, segment) group per delivery — hour and day × all and the event's segment for this traffic
  // (no slot) — and deliveries are time-bound at that rate (max_batch_timeout 2 s, ~230 events each); plus the day's
  // visitor marks in kpi_visitors, one per session and segment ('' and its own) and the daily job's delete of each,
  // at an assumed EVENTS_PER_SESSION_DAY events per session and day.
  const EVENTS_PER_SESSION_DAY = 20;
  const kpiRowsPerM = (M / 230) * 4 + (M / EVENTS_PER_SESSION_DAY) * 2 * 2;
  // The write path before the state row and the compact manifest (measured the same way, 2026-12-02 02:55), before the KPI rollups existed.
  const BEFORE = { doRowsPerEvent: 9.5, doRowsPerCall: 6, d1RowsPerMessage: 2, kpiRowsPerM: 0 };
  const shapes = [
    {
      name: `backend: ${BATCH} events from ${BATCH} sessions per request`,
      messagesPerM: (M / BATCH) * backendMsgs.length,
      msgBytes: msgBytes(backendMsgs),
      // At 10 M events a day (116 events/s on average) a delivery (max_batch_timeout 2 s) holds ~230 events, and the 100
      // events of a backend request come from 100 sessions: about one session-object call per event. (A full delivery of
      // 100 × 100 events, as when the consumer works off a backlog, calls each distinct session once: with the bench's pool
      // of POOL sessions that is POOL·(1 − (1 − 1/POOL)^10,000) calls per 10,000 events.)
      doCallsPerM: M,
      doCallsFull: (M / (100 * MESSAGE_ROWS)) * POOL * (1 - (1 - 1 / POOL) ** (100 * MESSAGE_ROWS)),
    },
    {
      name: `browser: ${BEACON} events of one session per request`,
      messagesPerM: (M / BEACON) * beaconMsgs.length,
      msgBytes: msgBytes(beaconMsgs),
      // The inline claim before the answer, and the consumer's claim of the same message.
      doCallsPerM: (M / BEACON) * 2,
      doCallsFull: (M / BEACON) * 2,
    },
  ];
  // Published rates (Workers Paid), looked up 2026-12-02:
  const RATE = {
    queueOps: 0.4, // $ per million operations (64 KB each; write + read + delete per message) — developers.cloudflare.com/queues/platform/pricing/
    doRequests: 0.15, // $ per million requests (each RPC call) — developers.cloudflare.com/durable-objects/platform/pricing/
    doRowsWritten: 1.0, // $ per million rows written, SQLite storage backend — same page
    d1RowsWritten: 1.0, // $ per million rows written — developers.cloudflare.com/d1/platform/pricing/
    r2ClassA: 4.5, // $ per million Class A operations (PutObject) — developers.cloudflare.com/r2/pricing/
    r2Storage: 0.015, // $ per GB-month, Standard storage — same page
    workerRequests: 0.3, // $ per million requests — developers.cloudflare.com/workers/platform/pricing/
  };
  const price = (w: { doRowsPerEvent: number; doRowsPerCall: number; d1RowsPerMessage: number; kpiRowsPerM: number }) =>
    shapes.map((s) => {
      const queueOps = s.messagesPerM * 3 * chunks(s.msgBytes);
      const r2Puts = s.messagesPerM;
      const doRows = M * w.doRowsPerEvent + s.doCallsPerM * w.doRowsPerCall;
      const d1Rows = s.messagesPerM * w.d1RowsPerMessage + w.kpiRowsPerM;
      const requests = M / (s.name.startsWith('backend') ? BATCH : BEACON);
      const cost = {
        queue: (queueOps / M) * RATE.queueOps,
        doReq: (s.doCallsPerM / M) * RATE.doRequests,
        doRows: (doRows / M) * RATE.doRowsWritten,
        d1: (d1Rows / M) * RATE.d1RowsWritten,
        r2: (r2Puts / M) * RATE.r2ClassA,
        worker: (requests / M) * RATE.workerRequests,
      };
      const total = Object.values(cost).reduce((a, b) => a + b, 0);
      return { ...s, queueOps, r2Puts, doRows, d1Rows, requests, cost, total };
    });
  const rows = price({ doRowsPerEvent, doRowsPerCall, d1RowsPerMessage, kpiRowsPerM });
  const before = price(BEFORE);
  const f1 = (x: number) => x.toFixed(1);
  const usd = (x: number) => `$${x < 0.1 ? x.toFixed(3) : x.toFixed(2)}`;
  const int = (x: number) => Math.round(x).toLocaleString('en-US');
  const line = (label: string, f: (r: (typeof rows)[number]) => string, how: string) => `| ${label} | ${rows.map(f).join(' | ')} | ${how} |`;
  const month = 10 * M * 30;
  const monthly = rows.map((r) => (r.total * month) / M);
  const r2GbMonth = (bytesPerEvent * month * 30) / 2 / 1e9; // a month of a 30-day-retained log, on average half full in the first month
  return `# Costs of the event data plane

Written by \`npm run bench:events\` (scripts/bench/events.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Storage operations per
1,000,000 accepted events for the two shapes of traffic the worker sees, and their price at Cloudflare's published rates
(Workers Paid plan, list prices beyond the included monthly amounts, looked up on 2026-12-02):
Queues $0.40 per million operations of 64 KB (a delivered message is a write, a read and a delete)
([Queues pricing](https://developers.cloudflare.com/queues/platform/pricing/)); Durable Objects $0.15 per million requests
(every RPC call is one) and, with the SQLite storage backend, $1.00 per million rows written
([Durable Objects pricing](https://developers.cloudflare.com/durable-objects/platform/pricing/)); D1 $1.00 per million rows
written ([D1 pricing](https://developers.cloudflare.com/d1/platform/pricing/)); R2 $4.50 per million Class A operations
(PutObject) and $0.015 per GB-month ([R2 pricing](https://developers.cloudflare.com/r2/pricing/)); Workers $0.30 per million
requests ([Workers pricing](https://developers.cloudflare.com/workers/platform/pricing/)). Included amounts (for example 1 million
queue operations, 50 million D1 and Durable Object rows written a month) and the $5 plan fee are left out: at this volume
they are small. Reads (D1 and Durable Object rows read, R2 Class B) and Durable Object duration are not counted.

Where each figure comes from: **counted** in the bench run (${int(run.logged)} events logged in ${int(run.objects)} R2 objects, ${f1(eventsPerObject)} events per
object, ${f1(bytesPerEvent)} bytes of gzip NDJSON per event, D1 +${(run.d1Bytes / 1048576).toFixed(2)} MB); **code**: derived from the code's
batching (messages per request from \`toMessages\` itself; deliveries of at most 100 messages, \`max_batch_size\`; one session-object
call per distinct session per delivery; one manifest row and its index entry per message); **measured in workerd**: the rows a session object writes per new event
and per call (\`cursor.rowsWritten\` of every statement, the billed figure), by test/worker/event-costs.test.ts for an
anonymous session with full bounded history and items with two catalog attributes (scripts/lib/event-costs.ts).

| per 1,000,000 events | ${rows.map((r) => r.name).join(' | ')} | source |
|---|${rows.map(() => '---:|').join('')}---|
${line('worker requests', (r) => int(r.requests), 'code (events per request)')}
${line('queue messages', (r) => int(r.messagesPerM), `code (\`toMessages\`; ≤ ${MESSAGE_ROWS} rows per message); the backend run logged ${f1(eventsPerObject)} events per object`)}
${line('queue operations (64 KB each)', (r) => `${int(r.queueOps)} (${f1(r.msgBytes / 1000)} KB/message)`, 'code: 3 per message (write, read, delete), no retries')}
${line('Durable Object requests (session objects)', (r) => int(r.doCallsPerM), `code: one call per distinct session per consumer delivery: backend ≈ 1 per event at 10 M/day (a 2-s delivery holds ~230 events of as many sessions; a full backlog delivery of 100 × 100 events from the bench's ${POOL.toLocaleString('en-US')}-session pool: ${int(rows[0]!.doCallsFull)}); browser = inline + consumer`)}
${line('Durable Object rows written', (r) => int(r.doRows), `measured in workerd: ${doRowsPerEvent} per new event + ${doRowsPerCall} per call`)}
${line('D1 rows written', (r) => int(r.d1Rows), `code: ${d1RowsPerMessage} per message (the manifest row; WITHOUT ROWID, no second index); +1 per message with recommendation impressions or clicks (rec_ctr), none here; + ${int(kpiRowsPerM)} for the console's KPI rollups (4 upserts per ~230-event delivery at 10 M/day) and visitor marks (2 per session-day and their deletion, at ${EVENTS_PER_SESSION_DAY} events per session-day)`)}
${line('R2 writes (Class A)', (r) => int(r.r2Puts), 'counted: one object per message (manifest)')}
${line('**price per million events**', (r) => `**${usd(r.total)}**`, '')}
${line('  of which queue / DO requests / DO rows / D1 / R2 / worker', (r) => [r.cost.queue, r.cost.doReq, r.cost.doRows, r.cost.d1, r.cost.r2, r.cost.worker].map(usd).join(' / '), '')}

## 10 million events a day

| | ${rows.map((r) => r.name).join(' | ')} |
|---|${rows.map(() => '---:|').join('')}
| per day | ${rows.map((r) => usd(r.total * 10)).join(' | ')} |
| per 30-day month | ${monthly.map(usd).join(' | ')} |
| R2 log storage, 30-day retention (${f1(bytesPerEvent)} B/event × 300 M events ≈ ${((bytesPerEvent * month) / 1e9).toFixed(1)} GB at steady state) | ${rows.map(() => `${usd(((bytesPerEvent * month) / 1e9) * RATE.r2Storage)} / month`).join(' | ')} |
| D1 growth (manifest), measured in the bench run | ${((run.d1Bytes / Math.max(1, run.logged)) * 1e7 / 1048576).toFixed(1)} MB per 10 M events (backend shape) | |

Before and after issue 12's write-path work (same traffic, same rates; before = session objects writing a table row per
recent item, attribute, anonymous event and trim: ${BEFORE.doRowsPerEvent} rows per new event + ${BEFORE.doRowsPerCall} per call, and a manifest with a rowid
and an hour index: ${BEFORE.d1RowsPerMessage} D1 rows per message; "after" also carries the console's KPI rollups, which came later):

| 10 million events a day | ${rows.map((r) => r.name).join(' | ')} |
|---|${rows.map(() => '---:|').join('')}
| Durable Object rows written per day, before → after | ${rows.map((r, i) => `${int(before[i]!.doRows * 10)} → ${int(r.doRows * 10)}`).join(' | ')} |
| D1 rows written per day, before → after | ${rows.map((r, i) => `${int(before[i]!.d1Rows * 10)} → ${int(r.d1Rows * 10)}`).join(' | ')} |
| **per 30-day month, before → after** | ${rows.map((r, i) => `**${usd((before[i]!.total * month) / M)} → ${usd((r.total * month) / M)}**`).join(' | ')} |
| of which DO rows written, before → after | ${rows.map((r, i) => `${usd((before[i]!.cost.doRows * month) / M)} → ${usd((r.cost.doRows * month) / M)}`).join(' | ')} |

A session object now writes one row per call (its features as one state row) and one dedupe row per new event
(\`seen\`, WITHOUT ROWID, no time index; expired ids are pruned at most once a day), so its rows written fell from about
${BEFORE.doRowsPerEvent} to about ${doRowsPerEvent} per event plus ${doRowsPerCall} per call. What is left is dominated by what scales with requests and messages: queue operations,
Durable Object requests (one per session per consumer delivery, and the inline claim of a browser batch) and R2 PutObjects
(one per queue message: browser-sized messages of ${BEACON} events cost ${BATCH / BEACON}× the backend's per event). Before the queue (D1 event log): every
event was a D1 row and its four index entries (primary key, ts, user, session), about 5 D1 rows written per event (about $5
per million events in D1 alone, and 10 GB filled in about three days at 10 M events a day), besides the session-object writes.
`;
}
