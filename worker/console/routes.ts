/**
 * The operator console under /console (docs/console.md): server-rendered pages for health,
 * business KPIs, catalog search, preview as a shopper, slot rules and templates with a live
 * preview, experiments and model versions. Sign-in: worker/console/auth.ts. Every form and
 * query is validated with zod; a mistake answers 4xx (an HTML page for pages and forms, JSON for
 * the preview endpoint), never 500. Actions go through the admin API itself (an internal request
 * with the admin token), so the console cannot do anything the API would refuse.
 */
import type { Context } from 'hono';
import { csrf } from 'hono/csrf';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { like, or, asc } from 'drizzle-orm';
import { z } from 'zod';
import type { AppEnv } from '../api/types';
import { router } from '../api/types';
import { experimentCards } from '../dashboard/page';
import { db } from '../db/client';
import { items } from '../db/schema';
import { describeIssues, errorBody, zodIssues } from '../lib/errors';
import { Timing } from '../lib/timing';
import { renderBlock } from '../render/block';
import { parseTemplate, TemplateError } from '../render/template';
import { Id } from '../schemas/common';
import { RecommendationRequestSchema } from '../schemas/recommendations';
import { SlotRulesSchema } from '../schemas/slots';
import { validLocale } from '../lib/vars';
import { serveSlot } from '../serving/pipeline';
import { getSlotConfig, listSlotConfigs, type SlotConfig } from '../slots/config';
import { getServingCatalog } from '../catalog/serving';
import { getSegmentRules } from '../experiments/segments';
import { consoleOperator, logIn, logOut } from './auth';
import { itemSignals, modelSignals } from './signals';
import { kpiReport } from './kpi';
import { CONSOLE_CSP, layout, notice, type Section } from './layout';
import { catalogPage, experimentsPage, healthPage, kpiPage, loginPage, modelsPage, previewPage, slotEditPage, slotsPage } from './pages';
import { CONSOLE_JS } from './script';

/** How the console reaches the app's own admin API (app.fetch, handed in by worker/app.ts). */
export type Dispatch = (req: Request, c: Context<AppEnv>) => Promise<Response>;

type C = Context<AppEnv>;

/** Form fields: an empty input means "not given". */
const optional = <T extends z.ZodType>(s: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), s.optional());

const LoginForm = z.object({ token: z.string().min(1, 'enter the admin token').max(512) });
const KpiQuery = z.object({ days: z.coerce.number().int().min(1).max(90).default(14), done: z.string().optional() });
const CatalogQuery = z.object({ q: z.string().trim().max(100).default('') });
const SlotList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(Id).min(1).max(6),
);
const PreviewQuery = z.object({ session_id: optional(Id), user_id: optional(Id), segment: optional(Id), slots: optional(SlotList), k: z.coerce.number().int().min(1).max(50).default(6) });
const RulesJson = z.string().max(20_000).transform((s, ctx) => {
  if (!s.trim()) return SlotRulesSchema.parse({});
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return z.NEVER;
  }
  const r = SlotRulesSchema.safeParse(v);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: `${i.path.join('.') || '(rules)'}: ${i.message}` });
    return z.NEVER;
  }
  return r.data;
});
const Currency = optional(z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'));
const Locale = optional(z.string().refine((l) => validLocale(l) !== null, 'must be a BCP 47 locale such as de-DE'));
const SlotDraft = z.object({ template: z.string().max(20_000).default(''), rules: z.string().default('').pipe(RulesJson), session_id: optional(Id), currency: Currency, locale: Locale });
const SlotForm = z.object({ template: z.string().max(20_000).default(''), rules: z.string().default('').pipe(RulesJson), preview_session: optional(Id), currency: Currency, locale: Locale });
const ExperimentForm = z.object({ experiment: z.string().min(1).max(20_000) });
const ExperimentAction = z.object({ id: Id, action: z.enum(['start', 'pause', 'stop']) });
const CanaryForm = z.object({ share: z.coerce.number().gt(0).lt(1).default(0.1) });
const DEFAULT_SLOTS = ['home'];

const issuesText = (e: z.ZodError) => describeIssues(zodIssues(e));

function page(c: C, title: string, section: Section | null, body: string, status: ContentfulStatusCode = 200) {
  return c.html(layout(title, section, body), status, { 'Content-Security-Policy': CONSOLE_CSP, 'Cache-Control': 'no-store' });
}

/** A mistake on a page or form: the page frame with the message, as a 4xx. */
const problem = (c: C, status: ContentfulStatusCode, message: string) => page(c, 'Request not understood', null, notice('error', message), status);

/** Template and rules checked the way PUT /v1/admin/slots checks them. */
function templateError(template: string): string | null {
  if (!template.trim()) return null;
  try {
    parseTemplate(template);
    return null;
  } catch (e) {
    if (e instanceof TemplateError) return `template: ${e.message}`;
    throw e;
  }
}

async function preview(c: C, slots: string[], opts: { sessionId?: string; userId?: string; segment?: string; k?: number; draft?: SlotConfig }) {
  return Promise.all(
    slots.map((slot) =>
      serveSlot(RecommendationRequestSchema.parse({ slot, session_id: opts.sessionId, k: opts.k ?? 6 }), {
        env: c.env,
        timing: new Timing(),
        waitUntil: (p) => c.executionCtx.waitUntil(p),
        shopper: { userId: opts.userId ?? null },
        preview: { draft: opts.draft, segment: opts.segment },
      }),
    ),
  );
}

export function consoleApp(dispatch: Dispatch) {
  const app = router();

  /** The admin API, called with the admin token on the operator's behalf. */
  const admin = async (c: C, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const token = c.env.ADMIN_TOKEN || c.env.ADMIN_TOKEN_NEXT;
    const res = await dispatch(
      new Request(new URL(path, c.req.url), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      c,
    );
    return { status: res.status, json: await res.json().catch(() => null) };
  };
  /** Run an admin action and go back to `back` with its outcome, or show the API's refusal. */
  const act = async (c: C, back: string, method: string, path: string, body?: unknown) => {
    const r = await admin(c, method, path, body);
    if (r.status >= 200 && r.status < 300) return c.redirect(`${back}?done=${encodeURIComponent(`${method} ${path}: done`)}`, 303);
    const status = (r.status >= 400 && r.status < 500 ? r.status : 503) as ContentfulStatusCode;
    return problem(c, status, r.json?.error?.message ?? `the admin API answered ${r.status}`);
  };

  // Forms must come from this origin (Origin / Sec-Fetch-Site); with SameSite=Strict cookies.
  app.use('/console/*', csrf());
  app.use('/console', csrf());

  app.get('/console/assets/console.js', (c) => c.body(CONSOLE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' }));
  app.get('/console/login', (c) => c.html(layout('Sign in', null, loginPage(), { signedIn: false }), 200, { 'Content-Security-Policy': CONSOLE_CSP }));
  app.post('/console/login', async (c) => {
    const form = LoginForm.safeParse(await c.req.parseBody().catch(() => ({})));
    if (!form.success) return c.html(layout('Sign in', null, loginPage(issuesText(form.error)), { signedIn: false }), 400, { 'Content-Security-Policy': CONSOLE_CSP });
    if (!(await logIn(c, form.data.token))) return c.html(layout('Sign in', null, loginPage('That is not the admin token.'), { signedIn: false }), 401, { 'Content-Security-Policy': CONSOLE_CSP });
    return c.redirect('/console', 303);
  });
  app.post('/console/logout', (c) => {
    logOut(c);
    return c.redirect('/console/login', 303);
  });

  const signedIn = createMiddleware<AppEnv>(async (c, next) => {
    if (await consoleOperator(c)) return next();
    if (c.req.method === 'GET') return c.redirect('/console/login', 303);
    return c.json(errorBody('unauthorized', 'sign in to the console first'), 401);
  });
  app.use('/console', signedIn);
  app.use('/console/*', async (c, next) => (c.req.path === '/console/login' || c.req.path.startsWith('/console/assets/') ? next() : signedIn(c, next)));

  app.get('/console', async (c) => {
    const [health, stats, metrics] = await Promise.all([admin(c, 'GET', '/v1/admin/health'), admin(c, 'GET', '/v1/admin/stats'), admin(c, 'GET', '/v1/admin/metrics')]);
    return page(c, 'Health & metrics', 'health', healthPage(health.json ?? {}, stats.json ?? {}, metrics.json ?? {}));
  });

  app.get('/console/kpis', async (c) => {
    const q = KpiQuery.safeParse(c.req.query());
    if (!q.success) return problem(c, 400, issuesText(q.error));
    return page(c, 'Business KPIs', 'kpis', kpiPage(await kpiReport(c.env.DB, q.data.days)));
  });

  app.get('/console/catalog', async (c) => {
    const q = CatalogQuery.safeParse(c.req.query());
    if (!q.success) return problem(c, 400, issuesText(q.error));
    const pattern = `%${q.data.q.replace(/[%_\\]/g, (m) => `\\${m}`)}%`;
    const rows = await db(c.env.DB)
      .select({ id: items.id, title: items.title, category: items.category, brand: items.brand, price: items.price, inStock: items.inStock, removedAt: items.removedAt })
      .from(items)
      .where(q.data.q ? or(like(items.id, pattern), like(items.title, pattern)) : undefined)
      .orderBy(asc(items.id))
      .limit(50);
    return page(c, 'Catalog', 'catalog', catalogPage(q.data.q, rows));
  });

  app.get('/console/preview', async (c) => {
    const q = PreviewQuery.safeParse(c.req.query());
    if (!q.success) return problem(c, 400, issuesText(q.error));
    const configured = (await listSlotConfigs(c.env.DB)).map((s) => s.slot);
    const slots = q.data.slots ?? (configured.length ? configured.slice(0, 6) : DEFAULT_SLOTS);
    const asked = Object.keys(c.req.query()).length > 0;
    const [served, catalog, segments] = await Promise.all([
      asked ? preview(c, slots, { sessionId: q.data.session_id, userId: q.data.user_id, segment: q.data.segment, k: q.data.k }) : null,
      getServingCatalog(c.env),
      getSegmentRules(c.env.DB),
    ]);
    if (q.data.segment && !(q.data.segment in segments)) return problem(c, 400, `segment: no segment named "${q.data.segment}"`);
    const lookup = (id: string) => catalog.facts(id);
    const signals = (served ?? []).map((s) => {
      const rows = new Map(s.chosen.map((r) => [r.item.id, r.features]));
      return Object.fromEntries(s.response.items.map((it) => [it.item_id, [...modelSignals(rows.get(it.item_id), s.weights), ...(lookup(it.item_id) ? itemSignals(lookup(it.item_id)!, s.features, lookup) : [])]]));
    });
    return page(c, 'Preview as a shopper', 'preview', previewPage({ ...q.data, slots }, Object.keys(segments).sort(), served, signals));
  });

  app.get('/console/slots', async (c) => page(c, 'Slots', 'slots', notice('done', c.req.query('done')) + slotsPage(await listSlotConfigs(c.env.DB))));
  app.get('/console/slots/edit', (c) => {
    const slot = Id.safeParse(c.req.query('slot'));
    return slot.success ? c.redirect(`/console/slots/${encodeURIComponent(slot.data)}`, 303) : problem(c, 400, `slot: ${issuesText(slot.error)}`);
  });
  app.get('/console/slots/:slot', async (c) => {
    const slot = Id.safeParse(c.req.param('slot'));
    if (!slot.success) return problem(c, 400, `slot: ${issuesText(slot.error)}`);
    const session = optional(Id).safeParse(c.req.query('session_id'));
    if (!session.success) return problem(c, 400, `session_id: ${issuesText(session.error)}`);
    const cfg = await getSlotConfig(c.env.DB, slot.data);
    const [served] = await preview(c, [slot.data], { sessionId: session.data, draft: cfg });
    const body = notice('done', c.req.query('done')) + slotEditPage(slot.data, cfg, JSON.stringify(cfg.rules, null, 2), session.data ?? '', served ?? null);
    return page(c, `Slot ${slot.data}`, 'slots', body);
  });
  app.post('/console/slots/:slot/preview', async (c) => {
    const slot = Id.safeParse(c.req.param('slot'));
    const body = SlotDraft.safeParse(await c.req.json().catch(() => null));
    if (!slot.success) return c.json(errorBody('invalid_request', `slot: ${issuesText(slot.error)}`), 400);
    if (!body.success) return c.json(errorBody('invalid_request', issuesText(body.error), zodIssues(body.error)), 400);
    const bad = templateError(body.data.template);
    if (bad) return c.json(errorBody('invalid_template', bad), 400);
    const draft = { rules: body.data.rules, template: body.data.template.trim() ? body.data.template : null, currency: body.data.currency ?? null, locale: validLocale(body.data.locale) };
    const [served] = await preview(c, [slot.data], { sessionId: body.data.session_id, draft });
    return c.json({ html: renderBlock(served!.response, served!.template.html, served!.display), items: served!.response.items.map((i) => i.item_id) }, 200, { 'Cache-Control': 'no-store' });
  });
  app.post('/console/slots/:slot', async (c) => {
    const slot = Id.safeParse(c.req.param('slot'));
    if (!slot.success) return problem(c, 400, `slot: ${issuesText(slot.error)}`);
    const form = SlotForm.safeParse(await c.req.parseBody().catch(() => ({})));
    if (!form.success) return problem(c, 400, issuesText(form.error));
    const back = `/console/slots/${encodeURIComponent(slot.data)}`;
    const { rules, template, currency, locale } = form.data;
    return act(c, back, 'PUT', `/v1/admin/slots/${encodeURIComponent(slot.data)}`, { rules, template: template.trim() ? template : null, currency: currency ?? null, locale: locale ?? null });
  });

  app.get('/console/experiments', async (c) => {
    const [{ cards }, list] = await Promise.all([experimentCards(c.env), admin(c, 'GET', '/v1/admin/experiments')]);
    const example = JSON.stringify({ id: 'home-recs-test', name: 'Home: model vs popular', slot: 'home', variants: [{ name: 'control', strategy: 'control', control: true }, { name: 'model', strategy: 'model' }] }, null, 2);
    return page(c, 'Experiments', 'experiments', notice('done', c.req.query('done')) + experimentsPage(cards, list.json?.experiments ?? [], example));
  });
  app.post('/console/experiments', async (c) => {
    const form = ExperimentForm.safeParse(await c.req.parseBody().catch(() => ({})));
    if (!form.success) return problem(c, 400, issuesText(form.error));
    let input: unknown;
    try {
      input = JSON.parse(form.data.experiment);
    } catch {
      return problem(c, 400, 'experiment: is not valid JSON');
    }
    return act(c, '/console/experiments', 'POST', '/v1/admin/experiments', input);
  });
  app.post('/console/experiments/:id/:action', async (c) => {
    const p = ExperimentAction.safeParse(c.req.param());
    if (!p.success) return problem(c, 400, issuesText(p.error));
    return act(c, '/console/experiments', 'POST', `/v1/admin/experiments/${encodeURIComponent(p.data.id)}/${p.data.action}`);
  });

  app.get('/console/models', async (c) => {
    const [models, canary] = await Promise.all([admin(c, 'GET', '/v1/admin/models'), admin(c, 'GET', '/v1/admin/models/canary')]);
    return page(c, 'Model versions', 'models', notice('done', c.req.query('done')) + modelsPage(models.json?.models ?? [], canary.json ?? { running: null }));
  });
  app.post('/console/models/rollback', (c) => act(c, '/console/models', 'POST', '/v1/admin/models/rollback'));
  app.post('/console/models/canary/abort', (c) => act(c, '/console/models', 'POST', '/v1/admin/models/canary/abort'));
  app.post('/console/models/:version/:action{canary|activate}', async (c) => {
    const version = Id.safeParse(c.req.param('version'));
    if (!version.success) return problem(c, 400, `version: ${issuesText(version.error)}`);
    const path = `/v1/admin/models/${encodeURIComponent(version.data)}/${c.req.param('action')}`;
    if (c.req.param('action') === 'activate') return act(c, '/console/models', 'POST', path);
    const form = CanaryForm.safeParse(await c.req.parseBody().catch(() => ({})));
    if (!form.success) return problem(c, 400, issuesText(form.error));
    return act(c, '/console/models', 'POST', path, { share: form.data.share });
  });

  app.all('/console/*', (c) => problem(c, 404, `no console page at ${c.req.path}`));
  return app;
}
