/**
 * Where the data CLIs (model:publish, data:export, model:retrain) read and write: the local state
 * `wrangler dev` uses (no --env), or a deployed environment of wrangler.toml (`--env staging|production`)
 * with that environment's own D1 database, R2 buckets and URL. The names come from wrangler's own
 * config reader, so they are the ones `wrangler deploy --env` binds (environments inherit no
 * bindings, so guessing them from the top-level names would write where no deployment reads).
 */
import { resolve } from 'node:path';
import type { Where } from './wrangler';

export const ENVIRONMENTS = ['staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const CONFIG = resolve(import.meta.dirname, '../wrangler.toml');

export interface Target {
  /** absent: the local state */
  env?: Environment;
  where: Where;
  /** D1 database_name of the DB binding */
  database: string;
  /** R2 bucket_name of the MODELS binding (model artifacts) */
  models: string;
  /** R2 bucket_name of the EXPORTS binding (the event log) */
  exports: string;
  /** the worker's base URL (admin API): the local `wrangler dev`, or https://<host of the first route> */
  url?: string;
}

export function parseEnvironment(env: string | undefined): Environment | undefined {
  if (env === undefined) return undefined;
  if (!(ENVIRONMENTS as readonly string[]).includes(env)) throw new Error(`--env must be one of ${ENVIRONMENTS.join(', ')} (no --env: the local state), not "${env}"`);
  return env as Environment;
}

interface Cfg {
  d1_databases: { binding: string; database_name?: string }[];
  r2_buckets: { binding: string; bucket_name?: string }[];
  routes?: (string | { pattern: string; custom_domain?: boolean })[];
}

/** The host of a route pattern ("shop.example.com/*", "*.example.com/api*") as a URL, null if it has a wildcard host. */
function routeUrl(route: string | { pattern: string }): string | null {
  const host = (typeof route === 'string' ? route : route.pattern).replace(/^https?:\/\//, '').split('/')[0]!;
  return host && !host.includes('*') ? `https://${host}` : null;
}

export async function resolveTarget(env?: Environment, config = CONFIG): Promise<Target> {
  const { unstable_readConfig } = await import('wrangler');
  const c = unstable_readConfig({ config, env }) as unknown as Cfg;
  const where = env ? 'remote' : 'local';
  const section = env ? `[env.${env}]` : 'the top level';
  const missing = (what: string): never => {
    throw new Error(`wrangler.toml has no ${what} in ${section}`);
  };
  const bucket = (binding: string) => c.r2_buckets.find((b) => b.binding === binding)?.bucket_name ?? missing(`R2 bucket bound as ${binding}`);
  const url = env ? (c.routes ?? []).map(routeUrl).find((u) => u !== null) : 'http://127.0.0.1:8787';
  return {
    ...(env ? { env } : {}),
    where,
    database: c.d1_databases.find((d) => d.binding === 'DB')?.database_name ?? missing('D1 database bound as DB'),
    models: bucket('MODELS'),
    exports: bucket('EXPORTS'),
    ...(url ? { url } : {}),
  };
}

/** One line for the operator: which database and buckets a command is about to use. */
export function describeTarget(t: Target): string {
  return `${t.env ?? 'local'}: D1 database ${t.database}, R2 buckets ${t.models} (models) and ${t.exports} (event log)${t.url ? `, worker ${t.url}` : ''}`;
}

/** `--local` / `--remote`, plus `--env NAME` for a deployed environment. */
export function targetFlags(t: Pick<Target, 'where' | 'env'>): string[] {
  return [`--${t.where}`, ...(t.env ? ['--env', t.env] : [])];
}
