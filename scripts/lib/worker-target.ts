/**
 * Which worker an ops script talks to through its API: the local `wrangler dev` (npm start) by
 * default, or a deployed environment of wrangler.toml ([env.<name>]): its first route's host is the
 * URL, and the script prints the D1 database and bucket that environment's worker writes to.
 */
import { resolve } from 'node:path';
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler';
import { localAdminToken, ROOT } from './wrangler';

export interface WorkerTarget {
  env: string | null;
  url: string;
  token: string | undefined;
  /** The bindings the worker at `url` uses (wrangler.toml), for the operator to confirm. */
  database: string;
  bucket: string;
}

const CONFIG = resolve(ROOT, 'wrangler.toml');

export function environments(): string[] {
  return Object.keys((experimental_readRawConfig({ config: CONFIG }).rawConfig as { env?: Record<string, unknown> }).env ?? {});
}

/** A route pattern ("shop.example.com/*") as the URL its worker answers on. */
function routeUrl(routes: (string | { pattern: string; custom_domain?: boolean })[] | undefined): string | null {
  const first = routes?.[0];
  if (!first) return null;
  const pattern = typeof first === 'string' ? first : first.pattern;
  const host = pattern.replace(/^https?:\/\//, '').replace(/\/\*?$/, '').replace(/\*$/, '');
  return host.includes('*') ? null : `https://${host.replace(/\/$/, '')}`;
}

/**
 * `url` overrides the environment's route (e.g. a workers.dev URL); the admin token comes from
 * `token`, else ADMIN_TOKEN in the environment, else (local only) .dev.vars.
 */
export function workerTarget(o: { env?: string; url?: string; token?: string }): WorkerTarget {
  if (o.env && !environments().includes(o.env)) throw new Error(`environment "${o.env}" is not defined in wrangler.toml (defined: ${environments().join(', ')})`);
  const cfg = unstable_readConfig({ config: CONFIG, env: o.env }) as unknown as {
    routes?: (string | { pattern: string })[];
    d1_databases: { binding: string; database_name?: string }[];
    r2_buckets: { binding: string; bucket_name?: string }[];
  };
  const url = o.url ?? (o.env ? routeUrl(cfg.routes) : 'http://127.0.0.1:8787');
  if (!url) throw new Error(`[env.${o.env}] has no route with a plain host in wrangler.toml: pass --url https://…`);
  return {
    env: o.env ?? null,
    url: url.replace(/\/$/, ''),
    token: o.token ?? process.env.ADMIN_TOKEN ?? (o.env ? undefined : localAdminToken()),
    database: cfg.d1_databases.find((d) => d.binding === 'DB')?.database_name ?? '?',
    bucket: cfg.r2_buckets.find((b) => b.binding === 'MODELS')?.bucket_name ?? '?',
  };
}
