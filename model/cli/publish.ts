/** npm run model:publish -- DIR [--env staging|production] [--activate] [--dry-run] …: see USAGE. */
import { localAdminToken } from '../../scripts/lib/wrangler';
import { publish, startCanary } from '../publish';
import { describeTarget, parseEnvironment, resolveTarget } from '../target';
import { fail, parseArgs, run } from './args';

const USAGE = `usage: npm run model:publish -- DIR [--env staging|production] [--activate] [--share S] [--url URL] [--token T] [--dry-run]

Uploads the model version in DIR (model/contract.ts files) to the MODELS R2 bucket and registers
it in the D1 database of the target, then starts it as a canary through the worker's admin API
(POST /v1/admin/models/<version>/canary), whose rule promotes or rolls it back.

  --env staging|production  a deployed environment: its D1 database, MODELS bucket and route
                            from wrangler.toml [env.<name>] (through wrangler --remote --env);
                            without --env: the local state \`npm start\` / \`wrangler dev\` use
  --activate                make it the active model at once (no canary); needed for the first
                            model of an environment, as a canary runs against an active one
  --share S                 canary traffic share, 0 < S < 1 (default: the worker's CANARY_SHARE)
  --url URL                 the worker for the admin API (default: http://127.0.0.1:8787 locally,
                            https://<host of the environment's first route> with --env)
  --token T                 admin token (default: $ADMIN_TOKEN; locally ADMIN_TOKEN of .dev.vars)
  --dry-run                 print the environment's bucket and database and the commands; write nothing
  --persist-to DIR          local state directory (wrangler's --persist-to; local only)`;

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['dry-run', 'activate', 'help', 'remote']);
  if (a.flag('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (a.flag('remote')) fail('--remote is gone: name the deployed environment with --env staging|production (its own bucket and database)');
  const dir = a.positional[0] ?? a.str('dir') ?? fail(USAGE);
  const target = await resolveTarget(parseEnvironment(a.str('env')));
  const dryRun = a.flag('dry-run');
  const activate = a.flag('activate');
  const share = a.str('share') !== undefined ? a.num('share', 0.1) : undefined;
  process.stdout.write(`${dryRun ? '(dry run) ' : ''}target ${describeTarget(target)}\n`);
  // Everything the canary needs is checked before anything is uploaded.
  const url = a.str('url') ?? target.url ?? (activate ? '' : fail(`wrangler.toml [env.${target.env}] has no route to reach the worker at: pass --url https://…`));
  const token = activate || dryRun ? '' : (a.str('token') ?? process.env.ADMIN_TOKEN ?? (target.env ? fail('--token or $ADMIN_TOKEN is needed to start the canary (or publish with --activate)') : localAdminToken()));

  const v = await publish(dir, target, { activate, dryRun, persistTo: a.str('persist-to') });
  if (activate) return void process.stdout.write(`${dryRun ? '(dry run) would publish' : 'published'} ${v} to ${target.env ?? 'local'} and activate it\n`);
  if (dryRun) return void process.stdout.write(`(dry run) would register ${v} in ${target.database} and start its canary: POST ${url}/v1/admin/models/${v}/canary\n`);
  try {
    const r = await startCanary(url, token, v, share);
    process.stdout.write(`published ${v} to ${target.env ?? 'local'}; canary started: rollout ${String(r.id)}, ${v} vs ${String(r.stable_version)}, share ${String(r.share)}\n`);
  } catch (e) {
    fail(`registered ${v}, but the canary did not start (${(e as Error).message}); start it with POST /v1/admin/models/${v}/canary, or publish again with --activate`);
  }
});
