/** Running wrangler from ops scripts: local state by default, the real account with remote. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'node_modules/.bin/wrangler');

export interface Target {
  remote?: boolean;
  /** Local state directory (wrangler's --persist-to); defaults to .wrangler/state. */
  persistTo?: string;
  env?: string;
}

export function targetFlags(t: Target): string[] {
  const flags = [t.remote ? '--remote' : '--local'];
  if (!t.remote && t.persistTo) flags.push('--persist-to', t.persistTo);
  if (t.env) flags.push('--env', t.env);
  return flags;
}

/** Run wrangler and return stdout; throws with wrangler's own message on failure. */
export function wrangler(args: string[], opts: { quiet?: boolean } = {}): string {
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' } });
  if (r.status !== 0) throw new Error(`wrangler ${args.slice(0, 3).join(' ')} failed:\n${r.stderr || r.stdout}`);
  if (!opts.quiet && r.stderr.trim()) process.stderr.write('');
  return r.stdout;
}

export function d1Execute(t: Target, sqlOrFile: { command: string } | { file: string }): void {
  const what = 'command' in sqlOrFile ? ['--command', sqlOrFile.command] : ['--file', sqlOrFile.file];
  wrangler(['d1', 'execute', 'p13n', ...targetFlags(t), '--yes', ...what]);
}

export function d1Query<T = Record<string, unknown>>(t: Target, command: string): T[] {
  const out = wrangler(['d1', 'execute', 'p13n', ...targetFlags(t), '--json', '--command', command]);
  const parsed = JSON.parse(out.slice(out.indexOf('['))) as { results: T[] }[];
  return parsed.flatMap((p) => p.results);
}

export function migrate(t: Target): void {
  wrangler(['d1', 'migrations', 'apply', 'p13n', ...targetFlags(t)]);
}

export function r2Put(t: Target, key: string, file: string, contentType: string): void {
  wrangler(['r2', 'object', 'put', `p13n-models/${key}`, '--file', file, '--content-type', contentType, ...targetFlags(t)]);
}

export interface DevServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Start `wrangler dev` on loopback and wait until /health answers. */
export async function startDev(opts: { port: number; persistTo?: string; vars?: Record<string, string>; logLevel?: string }): Promise<DevServer> {
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--show-interactive-dev-session=false', '--log-level', opts.logLevel ?? 'warn'];
  if (opts.persistTo) args.push('--persist-to', opts.persistTo);
  for (const [k, v] of Object.entries(opts.vars ?? {})) args.push('--var', `${k}:${v}`);
  const child = spawn(BIN, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('wrangler dev did not become ready within 90 s');
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export function devVarsPresent(): boolean {
  return existsSync(resolve(ROOT, '.dev.vars'));
}
