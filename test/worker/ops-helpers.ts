/**
 * Ops test helpers: call the Worker's own handlers (fetch, scheduled) with an execution context
 * and wait for its waitUntil work, so metrics and canary decisions made after a response are
 * complete before the test looks at them.
 */
import { createExecutionContext, createScheduledController, introspectWorkflow, waitOnExecutionContext } from 'cloudflare:test';
import { expect } from 'vitest';
import { env } from 'cloudflare:workers';
import worker from '../../worker/index';
import { ADMIN, withServerKey } from './helpers';

/** Bindings and variables to replace (variables as any string, not just wrangler.toml's values). */
export type EnvOverride = Partial<Record<keyof Env, unknown>>;

export async function call(path: string, init?: RequestInit, overrideEnv?: EnvOverride): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://worker.test${path}`, withServerKey(path, init)) as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrideEnv } as Env, ctx);
  await res.clone().arrayBuffer();
  await waitOnExecutionContext(ctx);
  return res;
}

export async function admin(path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  const res = await call(path, { method, headers: { ...ADMIN, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

export async function recs(query: Record<string, string | number>): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await call(`/v1/recommendations?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export async function runCron(cron: string, scheduledTime = Date.now()): Promise<void> {
  const controller = createScheduledController({ cron, scheduledTime });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

/** The daily cron at `scheduledTime`, then its maintenance workflow (worker/ops/maintenance.ts) to completion; its output. */
export async function runDailyMaintenance(scheduledTime = Date.now()): Promise<any> {
  const wf = await introspectWorkflow(env.MAINTENANCE_WORKFLOW);
  try {
    await runCron('30 2 * * *', scheduledTime);
    const [instance] = await wf.get();
    await instance!.waitForStatus('complete');
    return instance!.getOutput();
  } finally {
    await wf.dispose();
  }
}

/** Start a rights job (POST answers 202), wait for its workflow to complete, return GET status_url's body. */
export async function rightsJob(kind: 'erase' | 'export', body: unknown): Promise<any> {
  const wf = await introspectWorkflow(kind === 'erase' ? env.ERASURE_WORKFLOW : env.ACCESS_WORKFLOW);
  try {
    const r = await admin(`/v1/admin/shoppers/${kind}`, 'POST', body);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body.status_url).toBe(`/v1/admin/shoppers/${kind}/${r.body.id}`);
    const [instance] = await wf.get();
    await instance!.waitForStatus('complete');
    const s = await admin(r.body.status_url);
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body).toMatchObject({ id: r.body.id, status: 'complete' });
    return s.body;
  } finally {
    await wf.dispose();
  }
}

/** Lines the worker logged as JSON during `fn` (console.log / warn / error). */
export async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; lines: any[]; raw: string[] }> {
  const raw: string[] = [];
  const orig = { log: console.log, warn: console.warn, error: console.error };
  const grab =
    (k: 'log' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      raw.push(args.map(String).join(' '));
      orig[k](...args);
    };
  console.log = grab('log');
  console.warn = grab('warn');
  console.error = grab('error');
  try {
    const result = await fn();
    return { result, raw, lines: raw.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l)] : [])) };
  } finally {
    Object.assign(console, orig);
  }
}
