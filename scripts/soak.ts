/**
 * npm run soak — load and soak test of the local worker (`wrangler dev`, workerd) on a fresh,
 * temporary local state: a catalog and a trained model, then N concurrent shoppers that send
 * event batches (1-100 events) and recommendation requests for the same sessions, retry some
 * batches, send invalid events and malformed requests. In the middle of the load it forces
 * faults through the worker's test-only switch (FAULT_INJECTION, worker/ops/fault-injection.ts):
 * consumer crashes (deliveries processed but never acked) and a D1 outage. At the end it checks:
 *   - every event the API answered as accepted is in the R2 event log exactly once (counted by
 *     id; the log is listed through D1's manifest and read from the local R2 after the worker
 *     stopped), nothing else is (no invalid event, no double count of a retried one), every
 *     object the manifest lists exists and every log object is listed, and the sum of `accepted`
 *     less the repeats handed on to the consumer equals the events logged;
 *   - the faults happened (crashes taken, D1 calls failed) and lost nothing;
 *   - D1 grows by at most --max-d1-mb per million events (D1's own size, meta.size_after);
 *   - zero 5xx and zero network errors; every malformed request got a 4xx with a JSON error;
 *   - memory: the worker isolate's V8 heap (via wrangler's inspector) does not grow from just
 *     after warm-up (the first --warmup of the work and, with a bounded --sessions working set,
 *     until every session's Durable Object exists) to the end, within --max-growth; the worker's workerd process
 *     is never restarted. workerd's resident memory is sampled and reported, not checked (under
 *     wrangler dev it grows per request even in wrangler's own proxy; see docs/reliability.md).
 * Prints latency percentiles, throughput and memory; writes the figures to docs/reliability.md.
 * Exits non-zero when a check fails.
 *
 *   npm run soak [-- --events 100000 --recs 20000 --connections 32 --seed 7 --items 3000]
 *                [-- --sessions 400 (0 = a new session for 80% of visits, unbounded) --warmup 0.1]
 *                [-- --max-growth 0.25 --idle 20 --port 8798 --keep --no-docs]
 *                [-- --no-faults --fault-at 0.4 --crashes 3 --outage 15 --max-d1-mb 5]
 */
import cliProgress from 'cli-progress';
import { Agent, request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { seed } from './seed';
import { prepareDemo } from './lib/demo';
import { writeSection } from './lib/report';
import { connectInspector, type HeapUsage, type Inspector } from './lib/inspector';
import { cmdline, descendants, rssBytes } from './lib/rss';
import { Ledger, MEAN_BATCH, Traffic, type Batch, type BatchAnswer, type Visit } from './lib/soak-traffic';
import { localAdminToken, localServerKeyHeader, migrate, startDev } from './lib/wrangler';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    recs: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '32' },
    seed: { type: 'string', default: '7' },
    items: { type: 'string', default: '3000' },
    sessions: { type: 'string', default: '400' },
    idle: { type: 'string', default: '20' },
    'max-growth': { type: 'string', default: '0.25' },
    warmup: { type: 'string', default: '0.1' },
    port: { type: 'string', default: '8798' },
    keep: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: true },
    faults: { type: 'boolean', default: true },
    'fault-at': { type: 'string', default: '0.4' },
    crashes: { type: 'string', default: '3' },
    outage: { type: 'string', default: '15' },
    'max-d1-mb': { type: 'string', default: '5' },
  },
  allowNegative: true,
});
const EVENTS = Number(values.events);
const RECS = Number(values.recs);
const CONNECTIONS = Number(values.connections);
const SEED = Number(values.seed);
const MAX_GROWTH = Number(values['max-growth']);
const WARMUP = Number(values.warmup);
const SESSIONS = Number(values.sessions) || Infinity;
const IDLE_S = Number(values.idle);
const RUN = `soak${SEED}`;
const FAULTS = values.faults;
const FAULT_AT = Number(values['fault-at']);
const CRASHES = Number(values.crashes);
const OUTAGE_S = Number(values.outage);
const MAX_D1_MB = Number(values['max-d1-mb']);
/** The consumer retries a failed message after 5, 10, 20, 40, 60 s: allow for that after an outage. */
const DRAIN_LIMIT_MS = 180_000;
const MB = 1024 * 1024;
const CONSENT = { 'x-p13n-consent': 'granted' };

const work = mkdtempSync(join(tmpdir(), 'p13n-soak-'));
const state = join(work, 'state');
const TOKEN = localAdminToken();
// The traffic names its own session ids and sends multi-session batches, as a storefront backend: the server key.
const BACKEND = localServerKeyHeader();
const started = new Date();

console.log(`soak: ${EVENTS} events, ${RECS} recommendation requests, ${CONNECTIONS} clients, seed ${SEED}; local state in ${work}`);
migrate({ persistTo: state });
const demo = await prepareDemo({ dir: work, items: Number(values.items), target: { persistTo: state }, tune: false });

// ---- HTTP: one keep-alive pool, like a fleet of browsers behind a few edge connections -----

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
interface Answer {
  status: number;
  text: string;
  ms: number;
  retryAfter?: number;
  error?: string;
}

function send(base: string, method: string, path: string, body?: string): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(`${base}${path}`, { method, agent, headers: { ...CONSENT, ...BACKEND, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0, retryAfter: Number(res.headers['retry-after']) || undefined }),
      );
      res.on('error', (e) => resolve({ status: 0, text: '', ms: performance.now() - t0, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, text: '', ms: performance.now() - t0, error: e.message }));
    req.end(body);
  });
}

// ---- run ---------------------------------------------------------------------------------

const server = await startDev({ port: Number(values.port), inspectorPort: Number(values.port) + 1000, persistTo: state, vars: { ACCESS_LOG: 'off', ...(FAULTS ? { FAULT_INJECTION: 'on' } : {}) } });
const inspector: Inspector | null = await connectInspector(Number(values.port) + 1000).catch((e: Error) => {
  console.warn(`no V8 heap figures: ${e.message}`);
  return null;
});
const failures: string[] = [];
const fail = (msg: string) => {
  if (failures.length < 50) failures.push(msg);
  else if (failures.length === 50) failures.push('… (further failures not listed)');
};

/**
 * wrangler dev runs two workerd processes: its dev proxy, which owns --port and is not part of a
 * deployment, and the runtime with our worker. Memory is judged on the latter; the proxy is reported.
 */
interface Sample {
  t: number;
  done: number;
  worker: number;
  proxy: number;
}
const samples: Sample[] = [];
const heapSamples: (HeapUsage & { done: number })[] = [];
async function sampleHeap(done: number): Promise<void> {
  const h = await inspector?.heap();
  if (h) heapSamples.push({ ...h, done });
}
const pids = { worker: [] as number[], proxy: [] as number[] };
const restarts: string[] = [];
function discover(done: number): void {
  const found = descendants(server.child.pid!).filter((p) => p.comm === 'workerd').map((p) => p.pid);
  const isProxy = (pid: number) => cmdline(pid).includes(`entry=127.0.0.1:${values.port} `);
  const worker = found.filter((pid) => !isProxy(pid));
  if (pids.worker.length && worker.join() !== pids.worker.join()) restarts.push(`worker runtime ${pids.worker} replaced by ${worker} at ${done} of ${EVENTS + RECS}`);
  pids.worker = worker;
  pids.proxy = found.filter(isProxy);
}
function sampleRss(done: number): Sample | null {
  if (!pids.worker.length || [...pids.worker, ...pids.proxy].some((pid) => rssBytes(pid) === null)) discover(done);
  if (!pids.worker.length) return null;
  const sum = (xs: number[]) => xs.reduce((a, pid) => a + (rssBytes(pid) ?? 0), 0);
  const s = { t: Date.now(), done, worker: sum(pids.worker), proxy: sum(pids.proxy) };
  samples.push(s);
  return s;
}

const count = { events: 0, recs: 0, batches: 0, retries: 0, partialRepeats: 0, invalidEvents: 0, malformed: 0, s5xx: 0, s429: 0, netErrors: 0, fallback: 0, other: 0, outage503: 0, buffered: 0 };
/** The injected faults: when they were switched on, and what the worker reported at the end. */
const faults = { crashesAt: NaN, outageFrom: NaN, outageTo: NaN, crashesAtProgress: NaN, outageAtProgress: NaN, final: null as Record<string, any> | null };
const d1 = { before: NaN, after: NaN };
const latency = { events: [] as number[], recs: [] as number[] };
const ledger = new Ledger();
let eventsLeft = EVENTS;
let recsLeft = RECS;
let storedBefore = 0;
let loadMs = 0;
let loadSamples = 0;
let heapLoadSamples = 0;
/** Progress when the last client started its last new session (bounded --sessions only). */
let allSessionsAt = 0;

try {
  const seeded = await seed({ url: server.url, token: TOKEN, itemsFile: demo.itemsFile, eventsFile: demo.eventsFile, maxEvents: 2000 });
  console.log(`seeded ${seeded.items} items and ${seeded.events} history events; model ${demo.version}`);
  const admin = async (path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${path} answered ${r.status}`);
    return (await r.json()) as Record<string, any>;
  };
  // The seeded history goes through the queue too: wait until the log stops growing.
  for (let last = -1; ; ) {
    await new Promise((r) => setTimeout(r, 3000));
    const st = await admin('/v1/admin/stats');
    storedBefore = st.events_total as number;
    d1.before = st.d1_bytes as number;
    if (storedBefore === last) break;
    last = storedBefore;
  }
  console.log(`event log before the load: ${storedBefore} events; D1 ${(d1.before / MB).toFixed(2)} MB`);
  const first = sampleRss(0);
  await sampleHeap(0);
  if (!first) throw new Error('no workerd process found under wrangler dev');
  console.log(`worker runtime: workerd ${pids.worker.join(', ')}, RSS ${(first.worker / MB).toFixed(1)} MB; wrangler dev proxy: workerd ${pids.proxy.join(', ')}, RSS ${(first.proxy / MB).toFixed(1)} MB`);

  /** POST a batch until it gets an answer that is not a 5xx/429/network error (at most 6 tries). */
  async function postBatch(b: Batch): Promise<void> {
    let uncertain = false;
    let limited = 0;
    for (let attempt = 0; ; attempt++) {
      const a = await send(server.url, 'POST', '/v1/events', b.body);
      latency.events.push(a.ms);
      if (a.status === 429) {
        count.s429++;
        // Rate limits answer 429 with Retry-After; a soak that only ever gets 429 must not spin forever.
        if (++limited > 20) return fail(`a batch of ${b.size} got 429 twenty times: raise the rate limits for the soak`);
        await new Promise((r) => setTimeout(r, (a.retryAfter ?? 1) * 1000));
        continue;
      }
      if (a.status === 0 || a.status >= 500) {
        if (a.status === 0) count.netErrors++;
        else count.s5xx++;
        fail(`POST /v1/events -> ${a.status || a.error}: ${a.text.slice(0, 200)}`);
        uncertain = true;
        if (attempt >= 5) return fail(`gave up on a batch of ${b.size} after ${attempt + 1} attempts`);
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      // 202: D1 was failing and the events are buffered; they still count as accepted.
      if (a.status !== 200 && a.status !== 202) return fail(`POST /v1/events -> ${a.status}: ${a.text.slice(0, 200)}`);
      const answer = JSON.parse(a.text) as BatchAnswer;
      if (answer.buffered) count.buffered += answer.buffered;
      for (const p of ledger.settle(b, answer, uncertain)) fail(`batch of ${b.size}: ${p}`);
      return;
    }
  }

  async function expect4xx(method: string, path: string, body?: string): Promise<void> {
    const a = await send(server.url, method, path, body);
    count.malformed++;
    if (a.status >= 500) count.s5xx++;
    if (a.status === 0) count.netErrors++;
    let json: { error?: { message?: unknown } } | null = null;
    try {
      json = JSON.parse(a.text);
    } catch {
      /* checked below */
    }
    if (a.status < 400 || a.status >= 500 || typeof json?.error?.message !== 'string') fail(`malformed ${method} ${path.slice(0, 60)} -> ${a.status} ${a.text.slice(0, 120)}`);
  }

  const total = EVENTS + RECS;
  const progress = () => EVENTS - eventsLeft + (RECS - recsLeft);
  const bar = new cliProgress.SingleBar(
    {
      format: 'soak {bar} {percentage}% | events {ev}/{evTotal} recs {rec}/{recTotal} | 5xx {s5xx} | worker RSS {rss} MB | {duration_formatted} ETA {eta_formatted}',
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 15_000,
      etaBuffer: 200,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { ev: 0, evTotal: EVENTS, rec: 0, recTotal: RECS, s5xx: 0, rss: (first.worker / MB).toFixed(0) });
  const tick = () => bar.update(progress(), { ev: EVENTS - eventsLeft, rec: RECS - recsLeft, s5xx: count.s5xx, rss: ((samples.at(-1)?.worker ?? 0) / MB).toFixed(0) });
  const inOutage = () => Date.now() >= faults.outageFrom && Date.now() <= faults.outageTo + 2000;
  const sampler = setInterval(() => {
    sampleRss(progress());
    void sampleHeap(progress());
    tick();
    // Faults in the middle of the run: consumer crashes at --fault-at, the D1 outage 10% later.
    if (!FAULTS) return;
    if (Number.isNaN(faults.crashesAt) && progress() >= FAULT_AT * total) {
      faults.crashesAt = Date.now();
      faults.crashesAtProgress = progress();
      admin('/v1/admin/faults', { consumer_crashes: CRASHES }).catch((e: Error) => fail(`could not inject consumer crashes: ${e.message}`));
    }
    if (Number.isNaN(faults.outageFrom) && progress() >= Math.min(1, FAULT_AT + 0.1) * total) {
      faults.outageFrom = Date.now();
      faults.outageTo = Date.now() + OUTAGE_S * 1000;
      faults.outageAtProgress = progress();
      admin('/v1/admin/faults', { d1_outage_ms: OUTAGE_S * 1000 }).catch((e: Error) => fail(`could not inject a D1 outage: ${e.message}`));
    }
  }, 1000);

  /** One simulated storefront connection: visits of a few steps each, until the totals are spent. */
  const perClient = Math.ceil(SESSIONS / CONNECTIONS);
  let clientsAtCap = 0;
  async function client(ci: number): Promise<void> {
    const traffic = Traffic.forClient(RUN, demo.itemIds, SEED, ci);
    let visit: Visit | null = null;
    let atCap = false;
    for (;;) {
      if (!eventsLeft && !recsLeft) return;
      if (!visit || visit.steps-- <= 0) {
        visit = traffic.visit(ci, perClient);
        if (!atCap && traffic.sessionsStarted >= perClient) {
          atCap = true;
          if (++clientsAtCap === CONNECTIONS) allSessionsAt = progress();
        }
      }
      if (traffic.chance(0.005)) {
        const m = traffic.malformed(visit);
        await expect4xx(m.method, m.path, m.body);
        continue;
      }
      // Recommendations vs batches in proportion to what is left, so the mix stays even throughout.
      const batchesLeft = eventsLeft / MEAN_BATCH;
      if (recsLeft && traffic.chance(recsLeft / (recsLeft + batchesLeft))) {
        recsLeft--;
        const r = traffic.rec(visit);
        const a = await send(server.url, r.method, r.path, r.body);
        latency.recs.push(a.ms);
        count.recs++;
        if (a.status === 503 && inOutage()) count.outage503++; // D1 down, item not cached: documented (docs/reliability.md)
        else if (a.status >= 500 || a.status === 0) {
          if (a.status === 0) count.netErrors++;
          else count.s5xx++;
          fail(`${r.method} ${r.path.slice(0, 80)} -> ${a.status || a.error}: ${a.text.slice(0, 200)}`);
        } else if (a.status === 429) count.s429++;
        else if (a.status !== 200) fail(`${r.method} ${r.path.slice(0, 80)} -> ${a.status}: ${a.text.slice(0, 200)}`);
        else {
          const rec = JSON.parse(a.text) as { recommendation_id: string; fallback: boolean; items: { item_id: string }[] };
          if (rec.fallback) count.fallback++;
          visit.lastRec = { id: rec.recommendation_id, slot: r.slot, items: rec.items.map((i) => i.item_id) };
        }
      } else if (eventsLeft) {
        const size = Math.min(eventsLeft, traffic.batchSize());
        eventsLeft -= size;
        const { batch, types } = traffic.batch(visit, ci, size, (session) => ledger.earlier(session, traffic.rng));
        for (const [id, t] of types) ledger.types.set(id, t);
        count.batches++;
        count.events += size;
        count.invalidEvents += batch.invalid.length;
        if (batch.validIds.length > size) count.partialRepeats++;
        await postBatch(batch);
        // A lost answer: the client sends the very same batch again; nothing may be counted twice.
        if (traffic.chance(0.05)) {
          count.retries++;
          await postBatch(batch);
        }
      }
    }
  }

  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => client(i)));
  loadMs = performance.now() - t0;
  clearInterval(sampler);
  sampleRss(progress());
  tick();
  bar.stop();

  // Accepted events reach the R2 log through the queue consumer (retries after the faults take a
  // while); the manifest's count in the stats tells when they are all there.
  const expected = storedBefore + ledger.accepted.size;
  const deadline = Date.now() + DRAIN_LIMIT_MS;
  const drainStart = Date.now();
  let drained = -1;
  for (;;) {
    // The stats read D1, which may still be in the injected outage: retry.
    const st = await admin('/v1/admin/stats').catch(() => null);
    if (st) {
      drained = st.events_total as number;
      d1.after = st.d1_bytes as number;
      if (drained >= expected) break;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`event log: ${drained - storedBefore} of ${ledger.accepted.size} accepted events logged ${((Date.now() - drainStart) / 1000).toFixed(1)} s after the load`);
  if (FAULTS) faults.final = await admin('/v1/admin/faults');
  sampleRss(progress());
  loadSamples = samples.length;
  await sampleHeap(progress());
  heapLoadSamples = heapSamples.length;
  // Memory once the load stops: what is released when sessions go idle.
  for (let s = 0; s < IDLE_S; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    sampleRss(progress());
  }
  await sampleHeap(progress());
} catch (e) {
  fail(`run aborted: ${(e as Error).stack ?? e}`);
} finally {
  inspector?.close();
  await server.stop();
  agent.destroy();
}

// ---- checks ------------------------------------------------------------------------------

interface Row {
  event_id: string;
  type: string;
  session_key: string;
}
/**
 * The R2 event log as the worker left it: the manifest (D1 event_log_objects) lists the objects,
 * each is read from the local R2 bucket (wrangler's platform proxy on the same --persist-to
 * state, after wrangler dev stopped), and R2 is listed too, to find objects the manifest lacks.
 */
async function readLog(): Promise<{ rows: Row[]; objects: number; listed: number; missingObjects: string[]; unlisted: string[]; legacyRows: number }> {
  const { getPlatformProxy } = await import('wrangler');
  const proxy = await getPlatformProxy<Env>({ persist: { path: join(state, 'v3') }, remoteBindings: false });
  try {
    const keys: string[] = [];
    for (let after = ''; ; ) {
      const page = await proxy.env.DB.prepare('SELECT key FROM event_log_objects WHERE key > ? ORDER BY key LIMIT 5000').bind(after).all<{ key: string }>();
      keys.push(...page.results.map((r) => r.key));
      if (page.results.length < 5000) break;
      after = keys.at(-1)!;
    }
    const inR2 = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await proxy.env.EXPORTS.list({ prefix: 'events/', cursor });
      for (const o of page.objects) inR2.add(o.key);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    const rows: Row[] = [];
    const missingObjects: string[] = [];
    for (let i = 0; i < keys.length; i += 32) {
      await Promise.all(
        keys.slice(i, i + 32).map(async (key) => {
          const obj = await proxy.env.EXPORTS.get(key);
          if (!obj) return void missingObjects.push(key);
          const text = gunzipSync(Buffer.from(await obj.arrayBuffer())).toString('utf8');
          for (const line of text.split('\n')) {
            if (!line.trim()) continue;
            const r = JSON.parse(line) as Row;
            rows.push({ event_id: String(r.event_id), type: String(r.type), session_key: String(r.session_key) });
          }
        }),
      );
    }
    const listedSet = new Set(keys);
    const legacy = await proxy.env.DB.prepare('SELECT COUNT(*) AS n FROM events').first<{ n: number }>();
    return { rows, objects: inR2.size, listed: keys.length, missingObjects, unlisted: [...inR2].filter((k) => !listedSet.has(k)), legacyRows: legacy?.n ?? 0 };
  } finally {
    await proxy.dispose();
  }
}
const log = await readLog();
const rows = log.rows.filter((r) => r.event_id.startsWith(`${RUN}-`));
const rawSessionRows = log.rows.filter((r) => r.session_key.startsWith(`${RUN}-`)).length;

const stored = new Set(rows.map((r) => r.event_id));
const missing = [...ledger.accepted].filter((id) => !stored.has(id));
const extra = [...stored].filter((id) => !ledger.accepted.has(id));
const wrongType = rows.filter((r) => ledger.types.get(r.event_id) !== r.type);
const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
};
const inLoad = samples.slice(0, loadSamples).filter((s) => s.done > 0);
const median = (xs: number[]) => p(xs, 0.5);
const TOTAL = EVENTS + RECS;
// Warm-up ends after --warmup of the work and, with a bounded --sessions, once every session exists
// (local workerd keeps each session object it has opened in memory).
const warmEnd = Math.max(WARMUP * TOTAL, allSessionsAt);
const window = (lo: number, hi: number) => inLoad.filter((s) => s.done >= lo && s.done <= hi).map((s) => s.worker);
const rssWarm = median(window(warmEnd, warmEnd + 0.1 * TOTAL));
const rssEndLoad = median(window(0.9 * TOTAL, TOTAL));
const atStart = samples[0]!;
const afterLoad = samples[loadSamples - 1]!;
const atEnd = samples.at(-1)!;
const rssPeak = Math.max(...samples.map((s) => s.worker));
const growth = rssEndLoad / rssWarm - 1;
// V8 heap of the worker's isolate (JS objects + ArrayBuffer/WASM memory): what our code holds.
const heapOf = (h: HeapUsage) => h.used + h.backing;
const heapInLoad = heapSamples.slice(0, heapLoadSamples);
// The heap is a saw-tooth (no forced GC through the proxy): compare the floors, i.e. what survives
// collections, over 20% of the work right after warm-up and over the last 20%.
const heapWindow = (lo: number, hi: number) => heapInLoad.filter((h) => h.done >= lo && h.done <= hi).map(heapOf);
const heapWarm = Math.min(...heapWindow(warmEnd, Math.min(warmEnd + 0.2 * TOTAL, 0.8 * TOTAL)));
const heapEndLoad = Math.min(...heapWindow(0.8 * TOTAL, TOTAL));
const heapGrowth = heapEndLoad / heapWarm - 1;
const heapPeak = Math.max(...heapSamples.map(heapOf));
const heapEnd = heapSamples.at(-1);
const sessionObjects = (() => {
  const dir = join(state, 'v3/do');
  const classDir = existsSync(dir) ? readdirSync(dir).find((d) => d.endsWith('SessionState')) : undefined;
  return classDir ? readdirSync(join(dir, classDir)).filter((f) => f.endsWith('.sqlite')).length : NaN;
})();
const requests = latency.events.length + latency.recs.length + count.malformed;
const pct = (done: number) => `${((done / (EVENTS + RECS)) * 100).toFixed(0)}%`;
const f2 = (x: number) => x.toFixed(2);
const d1PerMillion = ((d1.after - d1.before) / MB / Math.max(1, rows.length)) * 1e6;

const checks: [string, boolean, string][] = [
  ['every accepted event in the R2 event log, none missing', missing.length === 0, `${ledger.accepted.size} accepted, ${missing.length} missing`],
  ['nothing logged that was not accepted (invalid events, retries)', extra.length === 0, `${extra.length} extra events`],
  ['logged exactly once (events = distinct ids)', rows.length === stored.size, `${rows.length} events, ${stored.size} distinct ids`],
  [
    'sum of `accepted` in answers, less the repeats handed on to the consumer and those that overtook their queued first copy, = events logged',
    ledger.acceptedSum - ledger.handedOn.repeats - ledger.overtaken === rows.length,
    `${ledger.acceptedSum} - ${ledger.handedOn.repeats} - ${ledger.overtaken} vs ${rows.length}`,
  ],
  ['logged events have the type sent', wrongType.length === 0, `${wrongType.length} differ`],
  ['no raw session id in the event log', rawSessionRows === 0, `${rawSessionRows} events`],
  [
    'the manifest lists exactly the log objects in R2',
    !log.missingObjects.length && !log.unlisted.length,
    `${log.listed} listed, ${log.objects} in R2, ${log.missingObjects.length} listed but missing, ${log.unlisted.length} unlisted`,
  ],
  ...(FAULTS
    ? ([
        [
          'forced faults happened mid-run (consumer crashes taken, D1 calls failed)',
          faults.final?.consumer_crashes_done === CRASHES && faults.final?.d1_calls_failed > 0,
          `${faults.final?.consumer_crashes_done ?? '?'} of ${CRASHES} crashes at ${pct(faults.crashesAtProgress)} of the work, ${faults.final?.d1_calls_failed ?? '?'} D1 calls failed in a ${OUTAGE_S} s outage from ${pct(faults.outageAtProgress)}`,
        ],
      ] as [string, boolean, string][])
    : []),
  [`D1 grows at most ${MAX_D1_MB} MB per million events`, d1PerMillion <= MAX_D1_MB, `${f2((d1.after - d1.before) / MB)} MB for ${rows.length.toLocaleString('en-US')} events = ${f2(d1PerMillion)} MB per million`],
  ['zero 5xx and network errors', count.s5xx === 0 && count.netErrors === 0, `${count.s5xx} 5xx, ${count.netErrors} network errors`],
  ['answers as expected (rejections, counts, 4xx JSON)', failures.length === 0, `${failures.length} problems`],
  [
    `worker V8 heap flat (floor over the last 20% of the load within +${(MAX_GROWTH * 100).toFixed(0)}% of the floor after warm-up)`,
    heapGrowth <= MAX_GROWTH,
    `${(heapWarm / MB).toFixed(1)} -> ${(heapEndLoad / MB).toFixed(1)} MB (${heapGrowth >= 0 ? '+' : ''}${(heapGrowth * 100).toFixed(1)}%)`,
  ],
  ['worker runtime not restarted during the run', !restarts.length, restarts.join('; ') || 'same workerd process throughout'],
];
// Reported, not gating: under wrangler dev, workerd's resident memory grows with every request even in
// wrangler's own forwarding proxy, which runs none of our code (docs/reliability.md has the figures).
const rssCheck: [string, boolean, string] = [
  `worker runtime RSS within +${(MAX_GROWTH * 100).toFixed(0)}% of after warm-up (last 10% of the load; informational)`,
  growth <= MAX_GROWTH,
  `${(rssWarm / MB).toFixed(1)} -> ${(rssEndLoad / MB).toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%); dev proxy ${(afterLoad.proxy / atStart.proxy).toFixed(1)}x its start`,
];

const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => x.toFixed(0);
const lat = (xs: number[]) => `| ${xs.length.toLocaleString('en-US')} | ${f1(p(xs, 0.5))} | ${f1(p(xs, 0.9))} | ${f1(p(xs, 0.99))} | ${f1(Math.max(...xs))} |`;
const seconds = loadMs / 1000;
const machine = `${process.platform}/${process.arch}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 1024 ** 3).toFixed(0)} GB, Node ${process.version}`;
const figures = `| figure | value |
|---|---|
| requests | ${requests.toLocaleString('en-US')} (${latency.events.length.toLocaleString('en-US')} event batches incl. ${count.retries} full retries, ${latency.recs.length.toLocaleString('en-US')} recommendations, ${count.malformed} malformed) in ${f1(seconds)} s, ${Math.round(requests / seconds)} req/s |
| events sent | ${count.events.toLocaleString('en-US')} new in ${count.batches.toLocaleString('en-US')} batches (${Math.round(count.events / seconds)} events/s), plus ${count.invalidEvents} invalid, ${count.partialRepeats} batches repeating stored events |
| events accepted = in the R2 log | ${ledger.accepted.size.toLocaleString('en-US')} = ${rows.length.toLocaleString('en-US')} (missing ${missing.length}, extra ${extra.length}; sum of \`accepted\` ${ledger.acceptedSum.toLocaleString('en-US')}, of which ${ledger.handedOn.repeats.toLocaleString('en-US')} repeats handed on in ${ledger.handedOn.batches} batches and dropped by the consumer and ${ledger.overtaken} repeats counted by an inline answer while their first copy was still queued; ${count.buffered} answered \`buffered\`) |
| R2 log objects (manifest rows) | ${log.listed.toLocaleString('en-US')} listed, ${log.objects.toLocaleString('en-US')} in R2 (${f1(rows.length / Math.max(1, log.listed))} events per object); legacy D1 \`events\` rows ${log.legacyRows} |
| forced faults | ${FAULTS ? `${faults.final?.consumer_crashes_done ?? '?'} consumer crashes (deliveries processed, never acked) from ${pct(faults.crashesAtProgress)} of the work; D1 outage of ${OUTAGE_S} s from ${pct(faults.outageAtProgress)} (${faults.final?.d1_calls_failed ?? '?'} D1 calls failed, ${count.outage503} recommendation 503s during it)` : 'none (--no-faults)'} |
| D1 size (meta.size_after) | ${f2(d1.before / MB)} MB before the load, ${f2(d1.after / MB)} MB after: +${f2((d1.after - d1.before) / MB)} MB, **${f2(d1PerMillion)} MB per million events** |
| 5xx / network errors / 429 | ${count.s5xx} / ${count.netErrors} / ${count.s429} |
| recommendations served from fallback | ${count.fallback} |
| session Durable Objects (incl. the seeded history's) | ${sessionObjects.toLocaleString('en-US')} |
| worker RSS (workerd running the worker) | start ${f1(atStart.worker / MB)} MB, after warm-up (${f1((warmEnd / TOTAL) * 100)}% of the work) ${f1(rssWarm / MB)} MB, last 10% of the load ${f1(rssEndLoad / MB)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%), peak ${f1(rssPeak / MB)} MB, end of load ${f1(afterLoad.worker / MB)} MB, after ${IDLE_S} s idle ${f1(atEnd.worker / MB)} MB |
| worker V8 heap (JS objects + ArrayBuffers) | start ${f1(heapOf(heapSamples[0] ?? { used: NaN, total: NaN, backing: NaN }) / MB)} MB, floor after warm-up ${f1(heapWarm / MB)} MB, floor over the last 20% ${f1(heapEndLoad / MB)} MB (${heapGrowth >= 0 ? '+' : ''}${(heapGrowth * 100).toFixed(1)}%), peak ${f1(heapPeak / MB)} MB, after idle ${f1((heapEnd ? heapOf(heapEnd) : NaN) / MB)} MB |
| wrangler dev proxy RSS (dev only, not deployed) | start ${f1(atStart.proxy / MB)} MB, end of load ${f1(afterLoad.proxy / MB)} MB, after idle ${f1(atEnd.proxy / MB)} MB |

| latency (ms, client side) | requests | p50 | p90 | p99 | max |
|---|---:|---:|---:|---:|---:|
| POST /v1/events (1-100 events) ${lat(latency.events)}
| recommendations (GET/POST) ${lat(latency.recs)}`;

const timeline = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1].map((q) => inLoad.find((x) => x.done >= q * TOTAL) ?? inLoad.at(-1)!);
console.log(`\nRSS (MB) at 0, 10, ..., 100% of the load, then after ${IDLE_S} s idle:`);
console.log(`  worker: ${[...timeline, atEnd].map((x) => f1(x.worker / MB)).join(' ')}`);
console.log(`  proxy:  ${[...timeline, atEnd].map((x) => f1(x.proxy / MB)).join(' ')}`);
const heapLine = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1].map((q) => heapInLoad.find((x) => x.done >= q * TOTAL) ?? heapInLoad.at(-1));
console.log(`  heap:   ${[...heapLine, heapEnd].map((x) => f1((x ? heapOf(x) : NaN) / MB)).join(' ')}`);
console.log(`\n${figures}\n`);
for (const [name, ok, detail] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
console.log(`${rssCheck[1] ? 'INFO' : 'INFO (not flat)'}  ${rssCheck[0]}: ${rssCheck[2]}`);
if (failures.length) console.log(`\nproblems:\n  ${failures.slice(0, 20).join('\n  ')}`);
const passed = checks.every(([, ok]) => ok);
console.log(`\nsoak ${passed ? 'PASSED' : 'FAILED'} (${f1(seconds)} s of load)`);

if (values.docs) {
  writeSection(
    'soak',
    `## Soak

\`npm run soak\` (scripts/soak.ts) starts \`wrangler dev\` on a fresh temporary local state, migrates D1, trains and
publishes a demo model for a ${Number(values.items).toLocaleString('en-US')}-item catalog and seeds it, then runs concurrent simulated storefront
clients against the worker (\`--events\` takes up to 1,000,000 and more). Each client plays shopper visits (80% new sessions, 20% returning until the working set of
\`--sessions\` exists, then returning ones only): recommendation requests (home/product/cart slots, GET and POST) interleaved with event batches of 1-100 events (impression, view, click,
add_to_cart, purchase; clicks and impressions carry the recommendation id they came from). 5% of batches are sent a second
time unchanged (a lost answer), 3% resend a few events already accepted in the same session, unchanged (duplicates are per session),
2% repeat an event inside the batch, 10% carry 1-3 invalid events, and 0.5% of requests are malformed (broken JSON, empty or
oversized batch, bad query). Every request carries \`X-P13n-Consent: granted\`.

Faults in the middle of the run (unless \`--no-faults\`), through the worker's test-only switch (\`POST /v1/admin/faults\`,
which exists only when wrangler dev runs with \`--var FAULT_INJECTION:on\`; worker/ops/fault-injection.ts): at
${(FAULT_AT * 100).toFixed(0)}% of the work the next ${CRASHES} queue deliveries crash after doing all their work (session objects, R2 objects, D1)
without acking, so the queue redelivers them; at ${((FAULT_AT + 0.1) * 100).toFixed(0)}% every D1 call of requests and of the consumer fails for ${OUTAGE_S} s
(recommendations that need an uncached item answer 503 then, as documented above; those are counted apart).

Checks (the script exits non-zero if one fails):
- the ids the API answered as accepted are exactly the ids in the R2 event log (listed through D1's \`event_log_objects\`
  manifest, read from the local R2 after the worker stopped): none missing, none extra, none twice (no invalid event, no
  retried event stored twice, nothing lost or doubled by the crashes and the outage); the manifest lists exactly the objects
  in R2; and the sum of \`accepted\` over all answers, less the repeats of earlier ids that larger batches handed on (the
  consumer drops them) and less the repeats an inline answer counted while their first copy was still in the queue (the
  session object keeps whichever copy reaches it first), equals the events logged;
- the forced faults happened (crashes taken, D1 calls failed) and D1 grew by at most ${MAX_D1_MB} MB per million events
  (D1's own size, \`meta.size_after\`, reported by \`GET /v1/admin/stats\` as \`d1_bytes\`, after the log drained);
- each answer's \`rejected\` indices are exactly the invalid events, and accepted + duplicates + rejected = batch size;
- zero 5xx and zero network errors; every malformed request gets a 4xx with a JSON error;
- memory: the V8 heap of the worker's isolate (JS objects and ArrayBuffers, read every second through wrangler's inspector
  with \`Runtime.getHeapUsage\`) does not grow: its floor (what survives collections) over the last 20% of the load is
  within +${(MAX_GROWTH * 100).toFixed(0)}% of its floor over the 20% after warm-up. Warm-up is the first ${(WARMUP * 100).toFixed(0)}% of the work and, as the run
  uses a working set of ${Number.isFinite(SESSIONS) ? SESSIONS : 'unbounded'} shopper sessions (\`--sessions\`), lasts until every session exists, so that the heap
  compared already holds each session's Durable Object (one isolate hosts them all locally; production spreads and
  evicts them). With \`--sessions 0\` new sessions keep arriving to the end;
- the worker's workerd process is the same from start to end (no crash or reload);
- no raw session id reaches the event log.

Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC: \`npm run soak -- --events ${EVENTS} --recs ${RECS} --connections ${CONNECTIONS} --seed ${SEED}${FAULTS ? "" : " --no-faults"}\`, ${machine}.
Client and worker share the machine (and it was shared with other work), so latencies are for a loaded local dev server,
not production figures. Result: **${passed ? 'all checks passed' : 'FAILED: ' + checks.filter(([, ok]) => !ok).map(([n]) => n).join('; ')}**.

${figures}

Resident memory (VmRSS from /proc, sampled every second) is reported, not checked. Under \`wrangler dev\` it rises with
every request in both workerd processes: the one running the worker and wrangler's local dev proxy in front of it, which
runs none of our code and grew from ${f1(atStart.proxy / MB)} to ${f1(afterLoad.proxy / MB)} MB in this run. The worker's own V8 heap peaked at ${f1(heapPeak / MB)} MB
meanwhile, so the growth is workerd's native memory in the local dev setup (it is not returned after ${IDLE_S} s idle either),
not objects our code keeps. RSS at 0, 10, …, 100% of the load (MB): worker ${timeline.map((x) => f0(x.worker / MB)).join(' ')};
dev proxy ${timeline.map((x) => f0(x.proxy / MB)).join(' ')}; worker V8 heap ${heapLine.map((x) => f0((x ? heapOf(x) : NaN) / MB)).join(' ')}.`,
    { file: 'docs/reliability.md', intro: '# Reliability\n' },
  );
  console.log('figures written to docs/reliability.md');
}
if (!values.keep) rmSync(work, { recursive: true, force: true });
else console.log(`local state kept in ${work}`);
process.exit(passed ? 0 : 1);
