/** Thin wrappers around `npx wrangler` for publishing models and exporting the worker's data. */
import { spawnSync } from 'node:child_process';

import { targetFlags, type Target } from './target';

/** The local (top-level) D1 database of wrangler.toml; deployed environments: model/target.ts. */
export const DB_NAME = 'p13n';

export type Where = 'local' | 'remote';

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `dryRun`: print the command (to `log`, default stdout) instead of running it. */
export function wrangler(args: string[], opts: { capture?: boolean; dryRun?: boolean; log?: (line: string) => void } = {}): string {
  if (opts.dryRun) {
    const line = `$ npx wrangler ${args.map((a) => (/[\s"'()*;<>]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
    if (opts.log) opts.log(line);
    else process.stdout.write(`${line}\n`);
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
export function d1Query<T = Record<string, unknown>>(sql: string, t: Target, dryRun = false): T[] {
  const out = wrangler(['d1', 'execute', t.database, ...targetFlags(t), '--json', '--command', sql], { capture: true, dryRun });
  const start = out.indexOf('[');
  const parsed = JSON.parse(start >= 0 ? out.slice(start) : out) as { results?: T[] }[];
  return parsed.flatMap((p) => p.results ?? []);
}
