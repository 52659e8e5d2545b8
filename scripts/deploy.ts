/**
 * npm run deploy -- --env <staging|production> [--dry-run]
 *
 * 1. checks wrangler.toml for the environment: every variable and binding of the top-level (dev)
 *    config is also defined for it (wrangler does not inherit them), no placeholder database ids;
 * 2. checks the required secrets are set (`wrangler secret list`);
 * 3. applies pending D1 migrations to the environment's database (`wrangler d1 migrations apply DB --remote`);
 * 4. builds the bundle (`wrangler deploy --dry-run --outdir dist/<env>`), prints its size and checks the budget;
 * 5. deploys (`wrangler deploy --env <env>`).
 * With --dry-run it does 1 and 4 offline, lists the migrations it would apply, and stops: no
 * account, network or secrets needed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler';
import { build, measure, mib, readBudget, report } from './lib/bundle';
import { ROOT } from './lib/wrangler';

const REQUIRED_SECRETS = ['ADMIN_TOKEN', 'PSEUDONYM_KEY'];
const { values } = parseArgs({ options: { env: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } } });
const dryRun = values['dry-run'];
const CONFIG = resolve(ROOT, 'wrangler.toml');

function fail(msg: string): never {
  console.error(`\n✘ ${msg}`);
  process.exit(1);
}

const raw = experimental_readRawConfig({ config: CONFIG }).rawConfig as { env?: Record<string, unknown> };
const envs = Object.keys(raw.env ?? {});
const env = values.env;
if (!env) fail(`--env is required (one of: ${envs.join(', ')}); e.g. npm run deploy -- --env staging --dry-run`);
if (!envs.includes(env)) fail(`environment "${env}" is not defined in wrangler.toml (defined: ${envs.join(', ')})`);

// 1. configuration parity
console.log(`▶ checking wrangler.toml for env "${env}"`);
const dev = unstable_readConfig({ config: CONFIG }) as unknown as Cfg;
const target = unstable_readConfig({ config: CONFIG, env }) as unknown as Cfg;
type Binding = { binding: string };
type Cfg = {
  vars?: Record<string, unknown>;
  d1_databases: (Binding & { database_id?: string; database_name?: string })[];
  r2_buckets: Binding[];
  durable_objects: { bindings: { name: string }[] };
  analytics_engine_datasets: Binding[];
  kv_namespaces: Binding[];
  services?: Binding[];
  routes?: (string | { pattern: string })[];
  triggers: { crons?: string[] };
  observability?: { enabled?: boolean };
};
const names = (c: Cfg) => ({
  vars: Object.keys(c.vars ?? {}),
  d1: c.d1_databases.map((b) => b.binding),
  r2: c.r2_buckets.map((b) => b.binding),
  durable_objects: c.durable_objects.bindings.map((b) => b.name),
  analytics_engine: c.analytics_engine_datasets.map((b) => b.binding),
  kv: c.kv_namespaces.map((b) => b.binding),
  services: (c.services ?? []).map((b) => b.binding),
});
const want = names(dev);
const have = names(target);
const problems: string[] = [];
for (const kind of Object.keys(want) as (keyof typeof want)[]) {
  for (const n of want[kind]) if (!have[kind].includes(n)) problems.push(`${kind}: "${n}" is defined at the top level but not in [env.${env}]`);
}
if (dev.observability?.enabled && !target.observability?.enabled) problems.push(`observability: enabled at the top level but not in [env.${env}.observability]`);
const placeholder = /^0{8}-0{4}-0{4}-0{4}-0{11}\d$/;
const placeholders = target.d1_databases.filter((d) => placeholder.test(d.database_id ?? '')).map((d) => `${d.binding} (${d.database_name})`);
if (problems.length) fail(`wrangler.toml is incomplete for env "${env}" (environments do not inherit bindings or vars):\n  ${problems.join('\n  ')}`);
console.log(`  ${want.vars.length} vars, bindings: ${[...have.d1, ...have.r2, ...have.durable_objects, ...have.analytics_engine].join(', ')}; routes: ${(target.routes ?? []).map((r) => (typeof r === 'string' ? r : r.pattern)).join(', ') || '(none)'}; crons: ${target.triggers.crons?.join(' | ') || '(none)'}`);
if (placeholders.length) {
  const msg = `placeholder database_id for ${placeholders.join(', ')}: create the database (wrangler d1 create <name>) and put its id in [[env.${env}.d1_databases]]`;
  if (dryRun) console.warn(`  ⚠ ${msg}`);
  else fail(msg);
}

function wrangler(args: string[], opts: { capture?: boolean } = {}) {
  const r = spawnSync(resolve(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: opts.capture ? ['inherit', 'pipe', 'pipe'] : 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (r.status !== 0) fail(`wrangler ${args.join(' ')} failed${opts.capture ? `:\n${r.stderr || r.stdout}` : ''}`);
  return r.stdout ?? '';
}

// 2. secrets
if (!dryRun) {
  console.log('▶ checking secrets');
  const out = wrangler(['secret', 'list', '--env', env, '--format', 'json'], { capture: true });
  const set = new Set((JSON.parse(out.slice(out.indexOf('['))) as { name: string }[]).map((s) => s.name));
  const missing = REQUIRED_SECRETS.filter((s) => !set.has(s));
  if (missing.length) fail(`missing secrets for env "${env}": ${missing.join(', ')}\n  set each with: npx wrangler secret put <NAME> --env ${env}   (docs/operations.md, "Secrets")`);
  console.log(`  set: ${[...set].join(', ')}`);
} else console.log(`▶ secrets: not checked in a dry run (required: ${REQUIRED_SECRETS.join(', ')})`);

// 3. migrations
const migrations = readdirSync(resolve(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).sort();
if (dryRun) console.log(`▶ D1 migrations: would apply the pending ones of ${migrations.length} (${migrations.join(', ')}) to ${target.d1_databases[0]?.database_name} with\n  wrangler d1 migrations apply DB --env ${env} --remote`);
else {
  console.log(`▶ applying pending D1 migrations to ${target.d1_databases[0]?.database_name}`);
  wrangler(['d1', 'migrations', 'apply', 'DB', '--env', env, '--remote']);
}

// 4. bundle
const outdir = resolve(ROOT, 'dist', env);
console.log(`▶ building the bundle (wrangler deploy --dry-run --outdir dist/${env} --env ${env})`);
const { summary } = build({ env, outdir });
const budget = readBudget();
const size = measure(outdir, summary);
console.log(report(size, budget));
if (size.gzip > budget.gzip_bytes) fail(`bundle is ${mib(size.gzip)} gzip, over the budget of ${mib(budget.gzip_bytes)} (bundle-budget.json)`);

if (dryRun) {
  console.log(`\n✔ dry run for "${env}" complete: bundle in dist/${env}, ${mib(size.gzip)} gzip. Nothing was uploaded.`);
  process.exit(0);
}

// 5. deploy
console.log(`▶ deploying to "${env}"`);
wrangler(['deploy', '--env', env]);
console.log(`\n✔ deployed "${env}". Check: curl -H "authorization: Bearer $ADMIN_TOKEN" https://<route>/v1/admin/health`);
