/** Ops scripts and wrangler: local state by default, the real account with remote; `wrangler dev` on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DB_NAME, wrangler } from '../../model/wrangler';
import { descendants, listeningPorts } from './rss';

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'node_modules/.bin/wrangler');

export interface Target {
  remote?: boolean;
  /** Local state directory (wrangler's --persist-to); defaults to .wrangler/state. */
  persistTo?: string;
  env?: string;
}

/** Apply pending D1 migrations (wrangler d1 migrations apply). */
export function migrate(t: Target): void {
  const flags = t.remote ? ['--remote'] : ['--local', ...(t.persistTo ? ['--persist-to', t.persistTo] : [])];
  wrangler(['d1', 'migrations', 'apply', DB_NAME, ...flags, ...(t.env ? ['--env', t.env] : [])]);
}

export interface DevServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Refuse a port that something else listens on: /health would be answered by that server. */
async function assertPortFree(port: number): Promise<void> {
  const { createServer } = await import('node:net');
  await new Promise<void>((res, rej) => {
    const s = createServer();
    s.once('error', () => rej(new Error(`port ${port} is in use on 127.0.0.1 (another wrangler dev?); pick another with --port`)));
    s.listen(port, '127.0.0.1', () => s.close(() => res()));
  });
}

/** Start `wrangler dev` on loopback and wait until /health answers. */
export async function startDev(opts: { port: number; persistTo?: string; vars?: Record<string, string>; logLevel?: string; inspectorPort?: number }): Promise<DevServer> {
  await assertPortFree(opts.port);
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--show-interactive-dev-session=false', '--log-level', opts.logLevel ?? 'warn'];
  if (opts.inspectorPort) args.push('--inspector-port', String(opts.inspectorPort));
  if (opts.persistTo) args.push('--persist-to', opts.persistTo);
  // Locally every client is 127.0.0.1, so the per-IP limits would throttle the demo seeding, the
  // benchmarks and the soak; the limiter itself is covered by test/worker/security.test.ts.
  for (const [k, v] of Object.entries({ RATE_LIMITS: 'off', ...opts.vars })) args.push('--var', `${k}:${v}`);
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

/**
 * Local secrets for `wrangler dev` live in .dev.vars (git-ignored); create it from
 * .dev.vars.example on first use, add any key the example gained since, and return one value.
 */
export function localSecret(name: string): string {
  const devVars = resolve(ROOT, '.dev.vars');
  const example = readFileSync(resolve(ROOT, '.dev.vars.example'), 'utf8');
  if (!existsSync(devVars)) {
    copyFileSync(resolve(ROOT, '.dev.vars.example'), devVars);
    console.log('created .dev.vars from .dev.vars.example (local secrets)');
  }
  let text = readFileSync(devVars, 'utf8');
  const missing = example.split('\n').filter((line) => /^[A-Z_]+=/.test(line) && !new RegExp(`^${line.split('=')[0]}=`, 'm').test(text));
  if (missing.length) {
    text = `${text.replace(/\n?$/, '\n')}${missing.join('\n')}\n`;
    writeFileSync(devVars, text);
    console.log(`added ${missing.map((l) => l.split('=')[0]).join(', ')} to .dev.vars from .dev.vars.example`);
  }
  const value = new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.trim();
  if (!value) throw new Error(`.dev.vars has no ${name}`);
  return value;
}

/**
 * What scripts send to the public API as a storefront backend: the server key (SERVER_KEY from
 * .dev.vars, header X-P13n-Server-Key), so they may name their own session ids and send
 * multi-session batches (docs/security.md).
 */
export function localServerKeyHeader(key = localSecret('SERVER_KEY')): Record<string, string> {
  return { 'x-p13n-server-key': key };
}

/** The admin token scripts need to seed and manage the local worker. */
export function localAdminToken(): string {
  return localSecret('ADMIN_TOKEN');
}

/**
 * The worker's own workerd, without `wrangler dev`'s proxy in front: wrangler dev runs two workerd
 * processes (its dev proxy on the public port, for live reload, then the worker). Production has
 * no such hop, so time-to-first-byte benchmarks also measure straight at the worker's socket.
 * Linux only (/proc); null when it cannot be found.
 */
export async function directWorkerUrl(server: DevServer): Promise<string | null> {
  const publicPort = Number(new URL(server.url).port);
  for (const p of descendants(server.child.pid!).filter((d) => d.comm === 'workerd')) {
    for (const port of listeningPorts(p.pid)) {
      if (port === publicPort) continue;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok && ((await res.json()) as { status?: string }).status === 'ok') return `http://127.0.0.1:${port}`;
      } catch {
        /* not the worker's entry socket */
      }
    }
  }
  return null;
}
