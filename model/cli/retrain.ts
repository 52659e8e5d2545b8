/**
 * npm run model:retrain [-- --env staging|production] [--url URL] [--token T] [--out DIR]
 *   [--tolerance X] [--share S] [--seed N] [--persist-to DIR] [--dry-run]
 * Trains a candidate from the worker's R2 event log (everything before the most recent 24 h), compares it
 * with the active model on that day's events, and publishes it as a canary only when it is not
 * worse — or says why not (model/retrain.ts). Local by default: the state `npm start` uses and the
 * worker on http://127.0.0.1:8787 with the ADMIN_TOKEN of .dev.vars; with --env, that deployed
 * environment's database and buckets from wrangler.toml (model/target.ts) through wrangler, the
 * worker at its first route (or --url) and the admin token in --token or $ADMIN_TOKEN.
 */
import { join } from 'node:path';
import { localAdminToken } from '../../scripts/lib/wrangler';
import { fmt } from '../metrics';
import { retrain } from '../retrain';
import { parseEnvironment } from '../target';
import { fail, parseArgs, run } from './args';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['dry-run']);
  const env = parseEnvironment(a.str('env'));
  const token = a.str('token') ?? process.env.ADMIN_TOKEN ?? (env ? fail('--token or $ADMIN_TOKEN is needed for the admin API') : localAdminToken());
  const r = await retrain({
    env,
    url: a.str('url'),
    token,
    persistTo: a.str('persist-to'),
    out: a.str('out') ?? join('.tmp', 'retrain', env ?? 'local'),
    seed: a.num('seed', 42),
    tolerance: a.num('tolerance', 0),
    share: a.str('share') !== undefined ? a.num('share', 0.1) : undefined,
    dryRun: a.flag('dry-run'),
    log: (l) => process.stderr.write(l + '\n'),
  });
  const lines = [`data: ${r.data.events} events, ${r.data.items} items; holdout day ${r.data.holdout_day ?? '—'} (${r.data.holdout_events} events), training events ${r.data.train_events}`];
  if (r.candidate) lines.push(`candidate ${r.candidate.version}: ${fmt(r.candidate.holdout)}  users ${r.candidate.holdout.users}  mean top score ${r.candidate.holdout.score_mean?.toFixed(4) ?? '—'}`);
  if (r.active) lines.push(`active    ${r.active.version}: ${fmt(r.active.holdout)}  users ${r.active.holdout.users}  mean top score ${r.active.holdout.score_mean?.toFixed(4) ?? '—'}`);
  else if (r.candidate) lines.push('active    (none)');
  lines.push(`decision: ${r.decision.publish ? (a.flag('dry-run') ? 'would publish (dry run)' : 'publish as canary') : 'not published'} — ${r.decision.reason}`);
  if (r.canary) lines.push(`canary started: rollout ${String(r.canary.id)}, ${String(r.canary.version)} vs ${String(r.canary.stable_version)}, share ${String(r.canary.share)}`);
  process.stdout.write(lines.join('\n') + '\n');
});
