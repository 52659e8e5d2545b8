/** Thin wrappers around `npx wrangler` for publishing models and exporting the worker's data. */
import { spawnSync } from 'node:child_process';

export const DB_NAME = 'p13n';
export const BUCKET = 'p13n-models';

export type Where = 'local' | 'remote';

/** A deployed environment's resource names (wrangler.toml [env.<name>]): p13n-<env>, p13n-models-<env>, p13n-exports-<env>. */
export const envName = (base: string, env?: string) => (env ? `${base}-${env}` : base);

/** `--local` / `--remote`, plus `--env NAME` for a deployed environment. */
export function targetFlags(where: Where, env?: string): string[] {
  return [`--${where}`, ...(env ? ['--env', env] : [])];
}

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function wrangler(args: string[], opts: { capture?: boolean; dryRun?: boolean } = {}): string {
  if (opts.dryRun) {
    process.stdout.write(`$ npx wrangler ${args.map((a) => (/[\s"'()*;<>]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
    return '[]';
  }
  // No stdin and CI=true: wrangler never stops to ask for a confirmation in a script.
  const r = spawnSync('npx', ['wrangler', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'],
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(' ')} … exited with ${r.status}`);
  return r.stdout ?? '';
}

/** Runs a SELECT through `wrangler d1 execute --json` and returns the rows. */
export function d1Query<T = Record<string, unknown>>(sql: string, where: Where, dryRun = false, env?: string): T[] {
  const out = wrangler(['d1', 'execute', envName(DB_NAME, env), ...targetFlags(where, env), '--json', '--command', sql], { capture: true, dryRun });
  const start = out.indexOf('[');
  const parsed = JSON.parse(start >= 0 ? out.slice(start) : out) as { results?: T[] }[];
  return parsed.flatMap((p) => p.results ?? []);
}
