/**
 * npm run simulate — synthetic shoppers against the bandit and the A/B statistics.
 *
 * In-process (default, seconds): the worker's own Thompson sampling (worker/bandits/thompson.ts),
 * assignment hashing (worker/experiments/assignment.ts) and statistics
 * (worker/experiments/stats.ts), with posteriors refreshed in batches the way isolates refresh
 * their snapshot. Against a worker (--url URL, or --start to launch one on :8799): creates a
 * bandit and an A/B experiment through the admin API, sends recommendation requests and
 * impression/click events like a storefront, and reads the worker's own report.
 *
 *   npm run simulate [-- --impressions 5000 --ctr-a 0.04 --ctr-b 0.06 --seed 7 --runs 400]
 *   npm run simulate -- --url http://127.0.0.1:8787 [--token T] [--server-key K]
 * (shoppers' requests go out as the storefront's backend would send them: with the server key.)
 *   npm run simulate -- --start
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseArm, seededRng, type ArmCounts, type Rng } from '../worker/bandits/thompson';
import { bucket } from '../worker/experiments/assignment';
import { msprt, powerAt, sampleSizePerArm, twoProportionZTest } from '../worker/experiments/stats';
import { localAdminToken, localServerKeyHeader, migrate, ROOT, startDev } from './lib/wrangler';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    start: { type: 'boolean', default: false },
    token: { type: 'string' },
    'server-key': { type: 'string' },
    impressions: { type: 'string', default: '5000' },
    'ctr-a': { type: 'string', default: '0.04' },
    'ctr-b': { type: 'string', default: '0.06' },
    seed: { type: 'string', default: '7' },
    runs: { type: 'string', default: '400' },
    refresh: { type: 'string', default: '100' },
    exploration: { type: 'string', default: '0.05' },
    concurrency: { type: 'string', default: '8' },
  },
});

const N = Number(args.impressions);
const CTR = { A: Number(args['ctr-a']), B: Number(args['ctr-b']) } as Record<string, number>;
const SEED = Number(args.seed);
const REFRESH = Number(args.refresh);
const EPS = Number(args.exploration);
const best = Math.max(...Object.values(CTR));
const pct = (x: number, d = 1) => `${(x * 100).toFixed(d)}%`;
const pad = (s: string | number, n: number) => String(s).padStart(n);

// ---- in-process bandit -----------------------------------------------------------------

interface BanditRun {
  shareB: number;
  shareBLast500: number;
  regret: number;
  rows: string[];
}

/**
 * Thompson sampling with snapshot batching: arms are drawn from posteriors that are only
 * updated every `refresh` impressions (as isolates read the shard sum every few seconds).
 * `ctr(arm, shopper)` is the true click probability; `context(shopper)` selects a posterior.
 */
function simulateBandit(rng: Rng, n: number, ctr: (arm: string, s: number) => number, context: (s: number) => string, print: boolean): BanditRun {
  const arms = ['A', 'B'];
  const live: Record<string, Record<string, ArmCounts>> = {};
  let snapshot: Record<string, Record<string, ArmCounts>> = {};
  let toB = 0;
  let winB = 0;
  let regret = 0;
  let lastWindow = 0;
  const rows: string[] = [];
  if (print) rows.push(`${pad('impressions', 11)} ${pad('share B (last 500)', 19)} ${pad('share B (all)', 14)} ${pad('regret', 8)}   posterior mean A / B`);
  for (let i = 1; i <= n; i++) {
    const ctx = context(i);
    const arm = chooseArm(arms, snapshot[ctx] ?? {}, EPS, rng);
    const p = ctr(arm, i);
    const pBest = Math.max(...arms.map((a) => ctr(a, i)));
    regret += pBest - p;
    const clicked = rng() < p;
    const c = ((live[ctx] ??= {})[arm] ??= { trials: 0, successes: 0 });
    c.trials += 1;
    if (clicked) c.successes += 1;
    if (arm === 'B') {
      toB += 1;
      winB += 1;
    }
    if (i % REFRESH === 0) snapshot = JSON.parse(JSON.stringify(live));
    if (i % 500 === 0 && !print) {
      lastWindow = winB / 500;
      winB = 0;
    }
    if (print && i % 500 === 0) {
      lastWindow = winB / 500;
      const m = (a: string) => {
        const all = Object.values(live).map((x) => x[a] ?? { trials: 0, successes: 0 });
        const t = all.reduce((s, x) => s + x.trials, 0);
        const k = all.reduce((s, x) => s + x.successes, 0);
        return (1 + k) / (2 + t);
      };
      rows.push(`${pad(i, 11)} ${pad(pct(winB / 500), 19)} ${pad(pct(toB / i), 14)} ${pad(regret.toFixed(1), 8)}   ${pct(m('A'), 2)} / ${pct(m('B'), 2)}`);
      winB = 0;
    }
  }
  return { shareB: toB / n, shareBLast500: lastWindow, regret, rows };
}

function banditSection(): void {
  console.log(`\n== Bandit (in-process): Thompson sampling, arm A true CTR ${pct(CTR.A!)}, arm B ${pct(CTR.B!)}; min exploration ${pct(EPS, 0)}, posteriors refreshed every ${REFRESH} impressions`);
  const run = simulateBandit(seededRng(SEED), N, (a) => CTR[a]!, () => '', true);
  for (const r of run.rows) console.log('  ' + r);
  const uniformRegret = (N * (best - (CTR.A! + CTR.B!) / 2)).toFixed(1);
  console.log(`  => ${pct(run.shareB)} of ${N} impressions went to B; regret ${run.regret.toFixed(1)} clicks (a 50/50 split would lose ${uniformRegret})`);
  // Over many seeds: how often is the 70% target met?
  const R = 100;
  const shares: number[] = [];
  const last: number[] = [];
  for (let s = 0; s < R; s++) {
    const r = simulateBandit(seededRng(1000 + s), N, (a) => CTR[a]!, () => '', false);
    shares.push(r.shareB);
    last.push(r.shareBLast500);
  }
  shares.sort((a, b) => a - b);
  last.sort((a, b) => a - b);
  const q = (xs: number[], f: number) => xs[Math.floor(xs.length * f)]!;
  console.log(`  over ${R} other seeds: cumulative share to B over all ${N}: median ${pct(q(shares, 0.5))}, 10th pct ${pct(q(shares, 0.1))}, >= 70% in ${shares.filter((x) => x >= 0.7).length}/${R}`);
  console.log(`                        share to B in impressions ${N - 499}-${N}: median ${pct(q(last, 0.5))}, 10th pct ${pct(q(last, 0.1))}, >= 70% in ${last.filter((x) => x >= 0.7).length}/${R}`);

  console.log(`\n== Contextual bandit (in-process): night owls (30% of shoppers) prefer A (7% vs 3%), everyone else B (3% vs 6%)`);
  const owl = (s: number) => bucket(`shopper-${s}`, 'sim', 'segment') < 0.3;
  const ctr = (a: string, s: number) => (owl(s) ? (a === 'A' ? 0.07 : 0.03) : a === 'A' ? 0.03 : 0.06);
  const flat = simulateBandit(seededRng(SEED), N, ctr, () => '', false);
  const ctx = simulateBandit(seededRng(SEED), N, ctr, (s) => (owl(s) ? 'night_owl' : 'other'), false);
  console.log(`  regret after ${N}: one posterior ${flat.regret.toFixed(1)} clicks, a posterior per segment ${ctx.regret.toFixed(1)} clicks`);
}

// ---- in-process A/B test ---------------------------------------------------------------

function abRun(rng: Rng, salt: string, pA: number, pB: number, maxPerArm: number, look: number, tau: number) {
  const n = { A: 0, B: 0 } as Record<string, number>;
  const x = { A: 0, B: 0 } as Record<string, number>;
  let firstZ: number | null = null;
  let firstSeq: number | null = null;
  const sigAt = new Map<number, boolean>();
  const checkpoints = new Set([500, 1000, 1500, sampleSizePerArm(pA, pB), 2500, 3000]);
  let lastM = 0;
  for (let i = 0; Math.min(n.A!, n.B!) < maxPerArm; i++) {
    const arm = bucket(`shopper-${i}`, salt, 'variant') < 0.5 ? 'A' : 'B';
    n[arm]! += 1;
    if (rng() < (arm === 'A' ? pA : pB)) x[arm]! += 1;
    const m = Math.min(n.A!, n.B!);
    // look whenever the smaller arm reaches a new size (m impressions per arm, or just over)
    if (m !== lastM) {
      lastM = m;
      if (checkpoints.has(m)) sigAt.set(m, twoProportionZTest(x.A!, n.A!, x.B!, n.B!).p < 0.05);
      if (m % look === 0) {
        if (firstZ === null && twoProportionZTest(x.A!, n.A!, x.B!, n.B!).p < 0.05) firstZ = m;
        if (firstSeq === null && msprt(x.A!, n.A!, x.B!, n.B!, tau).p <= 0.05) firstSeq = m;
      }
    }
  }
  return { firstZ, firstSeq, sigAt, final: twoProportionZTest(x.A!, n.A!, x.B!, n.B!), x, n };
}

function abSection(): void {
  const pA = CTR.A!;
  const pB = CTR.B!;
  const planned = sampleSizePerArm(pA, pB);
  const runs = Number(args.runs);
  const tau = Math.round(Math.abs(pB - pA) * 1e6) / 1e6;
  console.log(`\n== A/B test (in-process): same arms, 50/50 sticky hash assignment, one impression per shopper`);
  console.log(`  power calculation: ${planned} impressions per arm (${2 * planned} total) to detect ${pct(pA)} -> ${pct(pB)} at alpha 0.05 with 80% power`);
  const one = abRun(seededRng(SEED), `salt-${SEED}`, pA, pB, planned, 100, tau);
  console.log(`  seed ${SEED}: at the planned ${planned}/arm the z-test gives z = ${one.final.z.toFixed(2)}, p = ${one.final.p.toFixed(4)} (${one.final.p < 0.05 ? 'significant' : 'not significant'}); CTR A ${pct(one.x.A! / one.n.A!, 2)}, B ${pct(one.x.B! / one.n.B!, 2)}`);
  const cps = [500, 1000, 1500, planned, 2500, 3000];
  const sig = new Map(cps.map((c) => [c, 0]));
  const firstZ: number[] = [];
  const firstSeq: number[] = [];
  for (let r = 0; r < runs; r++) {
    const res = abRun(seededRng(50_000 + r), `salt-${r}`, pA, pB, 3000, 100, tau);
    for (const c of cps) if (res.sigAt.get(c)) sig.set(c, sig.get(c)! + 1);
    firstZ.push(res.firstZ ?? Infinity);
    firstSeq.push(res.firstSeq ?? Infinity);
  }
  console.log(`  over ${runs} simulated experiments, share significant (z-test, p < 0.05) by sample size per arm vs the power formula:`);
  for (const c of cps) console.log(`    ${pad(c, 5)}/arm: ${pad(pct(sig.get(c)! / runs), 6)} observed, ${pad(pct(powerAt(c, pA, pB)), 6)} predicted${c === planned ? '   <- planned size' : ''}`);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`  median sample size at which p first drops below 0.05 when looking every 100/arm: ${median(firstZ)}/arm (peeking; not a valid stopping rule)`);
  const seqFound = firstSeq.filter(Number.isFinite).length;
  console.log(`  mSPRT (tau = ${tau}): rejects within 3000/arm in ${pct(seqFound / runs)} of runs, median stop ${Number.isFinite(median(firstSeq)) ? median(firstSeq) : '> 3000'}/arm`);

  // A/A: false positives with daily peeking, z-test vs mSPRT.
  let fpZ = 0;
  let fpSeq = 0;
  const aa = Math.min(runs, 300);
  for (let r = 0; r < aa; r++) {
    const res = abRun(seededRng(90_000 + r), `aa-${r}`, pA, pA, 3000, 100, tau);
    if (res.firstZ !== null) fpZ++;
    if (res.firstSeq !== null) fpSeq++;
  }
  console.log(`  A/A check (${aa} runs, both arms ${pct(pA)}, 30 looks): peeking z-test false positives ${pct(fpZ / aa)}, mSPRT ${pct(fpSeq / aa)} (must stay <= 5%)`);
}

// ---- against a worker ------------------------------------------------------------------

async function driveWorker(url: string, token: string): Promise<void> {
  const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  // The simulated storefront backend names its own session ids: it sends the server key.
  const backend = localServerKeyHeader(args['server-key'] || undefined);
  const api = async (path: string, method = 'GET', body?: unknown) => {
    const r = await fetch(`${url}${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
    const j = (await r.json()) as any;
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j).slice(0, 300)}`);
    return j;
  };
  const stamp = Date.now().toString(36);
  const rng = seededRng(SEED);
  const conc = Number(args.concurrency);

  // Bandit
  const bid = `sim-bandit-${stamp}`;
  await api('/v1/admin/experiments', 'POST', {
    id: bid,
    name: 'Simulated banner bandit',
    slot: `sim-banner-${stamp}`,
    kind: 'bandit',
    variants: [
      { name: 'A', strategy: 'popular', payload: { banner: 'spring-sale' } },
      { name: 'B', strategy: 'popular', payload: { banner: 'free-shipping' } },
    ],
    bandit: { min_exploration: EPS, shards: 4 },
  });
  await api(`/v1/admin/experiments/${bid}/start`, 'POST');
  console.log(`\n== Bandit against ${url}: experiment ${bid}, true CTR A ${pct(CTR.A!)}, B ${pct(CTR.B!)}`);
  console.log(`  ${pad('impressions', 11)} ${pad('share B (last 500)', 19)} ${pad('share B (all)', 14)} ${pad('regret', 8)}`);
  let toB = 0;
  let winB = 0;
  let regret = 0;
  let done = 0;
  let pending: unknown[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    if (batch.length) await fetch(`${url}/v1/events`, { method: 'POST', headers: { ...backend, 'content-type': 'application/json' }, body: JSON.stringify({ events: batch }) });
  };
  const shopper = async (i: number, slot: string) => {
    const r = (await (await fetch(`${url}/v1/recommendations?slot=${slot}&session_id=sim-${stamp}-${i}&k=3`, { headers: backend })).json()) as any;
    const arm = r.variant as string;
    const item = r.items?.[0]?.item_id ?? `banner-${arm}`;
    const ts = Date.now();
    pending.push({ event_id: `${r.recommendation_id}-i`, type: 'impression', item_id: item, session_id: `sim-${stamp}-${i}`, recommendation_id: r.recommendation_id, slot, timestamp: ts });
    if (rng() < (CTR[arm] ?? 0)) pending.push({ event_id: `${r.recommendation_id}-c`, type: 'click', item_id: item, session_id: `sim-${stamp}-${i}`, recommendation_id: r.recommendation_id, slot, timestamp: ts + 1 });
    return arm;
  };
  for (let i = 0; i < N; i += conc) {
    const arms = await Promise.all(Array.from({ length: Math.min(conc, N - i) }, (_, j) => shopper(i + j, `sim-banner-${stamp}`)));
    for (const a of arms) {
      done++;
      regret += best - (CTR[a] ?? 0);
      if (a === 'B') (toB++, winB++);
      if (done % 500 === 0) {
        console.log(`  ${pad(done, 11)} ${pad(pct(winB / 500), 19)} ${pad(pct(toB / done), 14)} ${pad(regret.toFixed(1), 8)}`);
        winB = 0;
      }
    }
    if (pending.length >= 40) await flush();
  }
  await flush();
  const br = await api(`/v1/admin/experiments/${bid}/report`);
  const post = br.bandit.contexts[''] ?? {};
  console.log(`  => ${pct(toB / done)} of ${done} impressions went to B; regret ${regret.toFixed(1)} clicks`);
  console.log(`  worker report: ${br.variants.map((v: any) => `${v.name} served ${v.served}, CTR ${pct(v.ctr.estimate, 2)} [${pct(v.ctr.low, 2)}, ${pct(v.ctr.high, 2)}]`).join('; ')}`);
  console.log(`  bandit posteriors (sum of 4 shards): ${Object.entries(post).map(([a, c]: [string, any]) => `${a} ${c.successes}/${c.trials}, allocation ${pct(c.allocation)}`).join('; ')}`);
  await api(`/v1/admin/experiments/${bid}/stop`, 'POST');

  // A/B
  const aid = `sim-ab-${stamp}`;
  const planned = sampleSizePerArm(CTR.A!, CTR.B!);
  await api('/v1/admin/experiments', 'POST', {
    id: aid,
    name: 'Simulated A/B of the same banners',
    slot: `sim-ab-${stamp}`,
    variants: [
      { name: 'A', strategy: 'popular', control: true },
      { name: 'B', strategy: 'popular' },
    ],
    mde: Math.abs(CTR.B! - CTR.A!),
  });
  await api(`/v1/admin/experiments/${aid}/start`, 'POST');
  console.log(`\n== A/B test against ${url}: experiment ${aid}; power calculation ${planned} impressions per arm`);
  let firstSig: number | null = null;
  const maxTotal = Math.round(planned * 2 * 1.6);
  for (let i = 0; i < maxTotal; i += conc) {
    await Promise.all(Array.from({ length: Math.min(conc, maxTotal - i) }, (_, j) => shopper(i + j, `sim-ab-${stamp}`)));
    if (pending.length >= 40) await flush();
    const n = i + conc;
    if (n % 400 === 0 || n >= maxTotal) {
      await flush();
      const r = await api(`/v1/admin/experiments/${aid}/report`);
      const b = r.variants.find((v: any) => v.name === 'B');
      const a = r.variants.find((v: any) => v.name === 'A');
      const perArm = Math.min(a.impressions, b.impressions);
      const mark = b.z_test.p < 0.05 && firstSig === null ? '  <- first p < 0.05' : '';
      if (mark) firstSig = perArm;
      console.log(`  ${pad(perArm, 5)}/arm: CTR A ${pct(a.ctr.estimate, 2)}, B ${pct(b.ctr.estimate, 2)}, z-test p ${b.z_test.p.toFixed(4)}, mSPRT p ${b.sequential.p.toFixed(4)}, SRM p ${r.srm.p.toFixed(3)}${mark}`);
    }
  }
  console.log(`  => first significant at ${firstSig ?? 'not within the run'}/arm; power calculation: ${planned}/arm`);
  await api(`/v1/admin/experiments/${aid}/stop`, 'POST');
}

// ---- main ------------------------------------------------------------------------------

if (args.url || args.start) {
  let url = args.url;
  let stop: (() => Promise<void>) | undefined;
  let token = args.token ?? '';
  if (!token) token = localAdminToken();
  if (args.start) {
    const persistTo = resolve(ROOT, '.tmp/simulate-state');
    mkdirSync(persistTo, { recursive: true });
    migrate({ persistTo });
    if (!token) token = 'simulate-admin-token-0123456789';
    const dev = await startDev({ port: 8799, persistTo, vars: { ADMIN_TOKEN: token, ORIGIN_URL: '' } });
    url = dev.url;
    stop = dev.stop;
  }
  try {
    await driveWorker(url!, token);
  } finally {
    await stop?.();
  }
} else {
  banditSection();
  abSection();
}
