/**
 * npm run catalog:import -- --file F [--format csv|gmc|shopify] [--env staging|production] [--dry-run]
 *                           [--full [--max-removed-share 0.5]] [--strict] [--url URL] [--token T]
 *                           [--chunk 2000] [--report report.json]
 *
 * Parses the feed with the worker's own parsers (worker/catalog/feeds/), prints a validation report
 * (bad rows by line, or index path for JSON), then upserts the valid items through the admin API in
 * chunks (POST /v1/admin/catalog, NDJSON) with a progress bar. --full: the feed is the whole catalog;
 * items it does not list are marked removed (POST /v1/admin/catalog/removals; docs/catalog.md).
 * --dry-run parses and reports, and writes nothing. docs/catalog.md describes formats and targets.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { FEED_FORMATS, FeedError, parseFeed, type FeedFormat, type FeedRejection, type ParsedFeed } from '../worker/catalog/feeds';
import { workerTarget, type WorkerTarget } from './lib/worker-target';

const USAGE = `usage: npm run catalog:import -- --file FEED [options]

  --file F                 the feed: CSV, Merchant Center XML or TSV, Shopify products.json
  --format csv|gmc|shopify  default: recognised from the content
  --env staging|production  a deployed environment of wrangler.toml: the worker at its route
                            (ADMIN_TOKEN from the environment); default: the local worker (npm start)
  --url URL                 the worker's URL (overrides the environment's route)
  --token T                 admin token (default: $ADMIN_TOKEN, locally .dev.vars)
  --dry-run                 parse and report, write nothing
  --full                    the feed is the whole catalog: mark items it does not list as removed
  --max-removed-share S     --full marks nothing if more than this share would be marked (default 0.5)
  --strict                  write nothing when any row is bad (exit 1)
  --chunk N                 items per upsert call (default 2000, at most 10000)
  --report FILE             write the full validation report as JSON
`;

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    format: { type: 'string' },
    env: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    'max-removed-share': { type: 'string', default: '0.5' },
    strict: { type: 'boolean', default: false },
    chunk: { type: 'string', default: '2000' },
    report: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}\n`);
  (msg ? console.error : console.log)(USAGE);
  process.exit(msg ? 2 : 0);
}

if (values.help) usage();
if (!values.file) usage('--file is required');
if (values.format && !FEED_FORMATS.includes(values.format as FeedFormat)) usage(`--format must be one of ${FEED_FORMATS.join(', ')}`);
const chunkSize = Number(values.chunk);
if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 10_000) usage('--chunk must be an integer from 1 to 10000');
const maxShare = Number(values['max-removed-share']);
if (!(maxShare >= 0 && maxShare <= 1)) usage('--max-removed-share must be between 0 and 1');

const where = (r: FeedRejection) => (r.line !== null ? `line ${r.line}` : (r.path ?? '?'));
const ms = (t0: number) => Math.round(performance.now() - t0);

function printReport(feed: ParsedFeed, file: string, parseMs: number): void {
  console.log(`${file}: ${feed.format} (${feed.syntax}), ${feed.rows} rows: ${feed.items.length} valid, ${feed.rejected.length} rejected; parsed in ${parseMs} ms`);
  const shown = feed.rejected.slice(0, 50);
  for (const r of shown) console.log(`  ${where(r)}${r.item_id ? ` (${r.item_id})` : ''}: ${r.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  if (feed.rejected.length > shown.length) console.log(`  … and ${feed.rejected.length - shown.length} more (--report FILE lists all)`);
  if (!feed.complete) console.log('  the feed ends early (cut off?): a --full import will mark nothing removed');
}

async function call(t: WorkerTarget, path: string, body: string, contentType: string): Promise<any> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': contentType }, body });
      const json = await res.json().catch(() => ({}));
      // Upserts are idempotent: a 5xx (D1 busy, deploy) is retried; a 4xx is our mistake to show.
      if (res.status >= 500 && attempt < 3) throw new Error(`${res.status}`);
      if (!res.ok) throw Object.assign(new Error(`${path} answered ${res.status}: ${JSON.stringify(json).slice(0, 500)}`), { final: true });
      return json;
    } catch (e) {
      if ((e as { final?: boolean }).final || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

async function upload(t: WorkerTarget, feed: ParsedFeed): Promise<{ firstWrittenAt: number; version: number }> {
  const bar = new cliProgress.SingleBar({ format: 'upsert   {bar} {value}/{total} items  {eta}s left' }, cliProgress.Presets.shades_classic);
  bar.start(feed.items.length, 0);
  let firstWrittenAt = 0;
  let version = 0;
  try {
    for (let i = 0; i < feed.items.length; i += chunkSize) {
      const part = feed.items.slice(i, i + chunkSize);
      const r = await call(t, '/v1/admin/catalog', part.map((x) => JSON.stringify(x)).join('\n'), 'application/x-ndjson');
      if (r.rejected?.length) throw new Error(`the worker rejected rows the parser accepted: ${JSON.stringify(r.rejected.slice(0, 3))}`);
      firstWrittenAt ||= r.written_at;
      version = r.catalog_version;
      bar.increment(part.length);
    }
  } finally {
    bar.stop();
  }
  return { firstWrittenAt, version };
}

async function main(): Promise<number> {
  const t0 = performance.now();
  const text = readFileSync(values.file!, 'utf8');
  let feed: ParsedFeed;
  try {
    feed = parseFeed(text, values.format as FeedFormat | undefined);
  } catch (e) {
    if (e instanceof FeedError) {
      console.error(`${values.file}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const parseMs = ms(t0);
  printReport(feed, values.file!, parseMs);
  if (values.report) writeFileSync(values.report, JSON.stringify({ file: values.file, format: feed.format, syntax: feed.syntax, rows: feed.rows, valid: feed.items.length, complete: feed.complete, rejected: feed.rejected }, null, 2));

  const target = workerTarget({ env: values.env, url: values.url, token: values.token });
  console.log(`target: ${target.env ?? 'local'} worker ${target.url} (writes D1 "${target.database}", snapshots in R2 "${target.bucket}")`);
  if (values.strict && feed.rejected.length) {
    console.error(`--strict: ${feed.rejected.length} bad rows, nothing written`);
    return 1;
  }
  if (values['dry-run']) {
    console.log(`dry run: would upsert ${feed.items.length} items in ${Math.ceil(feed.items.length / chunkSize)} calls${values.full ? ' and mark the items the feed does not list as removed' : ''}`);
    return 0;
  }
  if (!target.token) throw new Error('no admin token: pass --token or set ADMIN_TOKEN');
  if (!feed.items.length) {
    console.error('no valid item: nothing written');
    return 1;
  }
  const t1 = performance.now();
  const up = await upload(target, feed);
  const uploadMs = ms(t1);
  console.log(`upserted ${feed.items.length} items in ${uploadMs} ms (${Math.round(feed.items.length / (uploadMs / 1000))} items/s), catalog version ${up.version}`);
  if (values.full) {
    if (!feed.complete) console.log('full: the feed ended early, nothing marked removed');
    else {
      const listed = feed.rejected.flatMap((r) => (r.item_id ? [r.item_id] : [])).slice(0, 10_000);
      const r = await call(target, '/v1/admin/catalog/removals', JSON.stringify({ since: up.firstWrittenAt, listed, max_removed_share: maxShare }), 'application/json');
      console.log(r.refused ? `full: ${r.refused}` : `full: marked ${r.removed} of ${r.live} items removed (not in the feed)`);
    }
  }
  // A fresh columnar snapshot: isolates then load one R2 object instead of the import's change log.
  const t2 = performance.now();
  const snap = await fetch(`${target.url}/v1/admin/catalog/snapshot`, { method: 'POST', headers: { authorization: `Bearer ${target.token}` } });
  console.log(snap.ok ? `catalog snapshot built in ${ms(t2)} ms` : `catalog snapshot: ${snap.status} (the cron builds one later)`);
  console.log(`done in ${ms(t0)} ms`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
