/**
 * Proxy mode: the worker sits on the storefront's route in front of its origin.
 *
 * Non-HTML responses, non-GET requests, redirects and errors are returned exactly as the
 * origin sent them (status, headers, cookies, bytes). A GET 200 text/html response streams
 * through HTMLRewriter and gets its marked slots filled.
 *
 * How slots are computed concurrently while the page streams: the origin body is teed.
 *   - The scanning pass reads one branch as fast as the origin sends it, with a synchronous
 *     element handler that starts the recommendation for each slot the moment the slot's start
 *     tag arrives. It never waits, so every slot on the page starts as soon as its bytes exist
 *     (all at once for a page that arrives in one go).
 *   - The rendering pass rewrites the other branch, which is what the browser receives. Its
 *     async handler on a slot waits for that slot's outcome, at most until the slot's budget
 *     (SLOT_BUDGET_MS, counted from when the slot was started) is spent. HTMLRewriter holds
 *     the stream only from that element on: everything before the first slot has already
 *     been sent, and a later slot waits only for what is left of its own budget.
 * The page is never buffered: the only bytes held are those the rendering pass has not yet
 * written while a slot waits (at most one budget's worth of origin output).
 *
 * Fail-open: every handler catches its own errors and leaves the slot's original content;
 * if setting up the rewrite fails, the origin response is returned untouched.
 */
import { resolveShopper, type Shopper } from '../identity/shopper';
import { mergeAtLogin } from '../session/merge';
import { errorBody } from '../lib/errors';
import { noteFault } from '../ops/faults';
import { escapeHtml } from '../render/escape';
import { readStamp } from '../session/stamp';
import { fetchOrigin, isHtml, OriginTimeoutError } from './origin';
import { DEFAULT_BUDGET_MS, readSlotAttrs, SLOT_SELECTOR, SlotPlanner } from './slots';

export interface ProxyContext {
  waitUntil(p: Promise<unknown>): void;
  passThroughOnException?(): void;
}

function log(entry: Record<string, unknown>): void {
  console.log(JSON.stringify(entry));
}

function budget(env: Env): number {
  const v = Number((env as { SLOT_BUDGET_MS?: string }).SLOT_BUDGET_MS);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_BUDGET_MS;
}

function device(request: Request): 'mobile' | 'desktop' | undefined {
  const hint = request.headers.get('sec-ch-ua-mobile');
  if (hint) return hint.includes('1') ? 'mobile' : 'desktop';
  const ua = request.headers.get('user-agent');
  if (!ua) return undefined;
  return /Mobi|Android|iPhone|iPad/i.test(ua) ? 'mobile' : 'desktop';
}

/** The origin failed us (not its own 5xx, which passes through): a clear 502/504, as a page for browsers, JSON otherwise. */
function gatewayError(request: Request, status: 502 | 504, code: string, message: string): Response {
  const headers = { 'cache-control': 'no-store', 'retry-after': '5' };
  if (/text\/html/i.test(request.headers.get('accept') ?? '')) {
    const title = status === 504 ? 'Gateway time-out' : 'Bad gateway';
    const body = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${escapeHtml(message)}. Please try again in a moment.</p></body></html>\n`;
    return new Response(body, { status, headers: { ...headers, 'content-type': 'text/html; charset=utf-8' } });
  }
  return Response.json(errorBody(code, message), { status, headers });
}

export async function proxy(request: Request, env: Env, ctx: ProxyContext): Promise<Response> {
  // If our code throws where we cannot catch it, the platform forwards to the origin route.
  try {
    ctx.passThroughOnException?.();
  } catch {
    /* not available outside a route */
  }
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p.catch(() => undefined));
  const personalizable = request.method === 'GET';
  // Identity runs alongside the origin fetch (it is needed for Set-Cookie in the headers).
  const shopper: Promise<Shopper> = personalizable
    ? resolveShopper(request, env)
        .then(async (s) => {
          // Login: the browser's anonymous history follows it into the signed-in session.
          if (s.mergeFrom && s.sessionId && s.userId) await mergeAtLogin(env, { sessionId: s.mergeFrom }, { sessionId: s.sessionId, userId: s.userId });
          return s;
        })
        .catch((): Shopper => ({ consent: 'none' }))
    : Promise.resolve({ consent: 'none' });
  let origin: Awaited<ReturnType<typeof fetchOrigin>>;
  const t0 = performance.now();
  try {
    origin = await fetchOrigin(env, request, waitUntil);
  } catch (e) {
    const message = String((e as Error)?.message ?? e);
    noteFault('origin', message);
    if (e instanceof OriginTimeoutError) {
      log({ level: 'error', msg: 'origin_timeout', error: message });
      return gatewayError(request, 504, 'origin_timeout', message);
    }
    log({ level: 'error', msg: 'origin_unreachable', error: message });
    return gatewayError(request, 502, 'origin_unreachable', 'the storefront origin could not be reached');
  }
  const res = origin.response;
  // The origin's own errors pass through untouched; health notes them.
  if (res.status >= 500) noteFault('origin', `origin answered ${res.status}`);
  if (!personalizable || res.status !== 200 || !isHtml(res) || !res.body) return passThrough(res);
  try {
    return await personalize(request, env, res, await shopper, { waitUntil, cache: origin.cache, originMs: performance.now() - t0 });
  } catch (e) {
    log({ level: 'error', msg: 'personalize_setup_failed', error: String((e as Error)?.message ?? e) });
    return passThrough(res);
  }
}

/** The origin's response as it is (same status, headers, cookies, body stream), with headers
 * that later middleware (request id) may add to: a fetch() response's headers are immutable. */
function passThrough(res: Response): Response {
  if (res.webSocket || res.status === 101) return res;
  return new Response(res.body, res);
}

async function personalize(
  request: Request,
  env: Env,
  res: Response,
  shopper: Shopper,
  opts: { waitUntil: (p: Promise<unknown>) => void; cache: string; originMs: number },
): Promise<Response> {
  const planner = new SlotPlanner({
    env,
    shopper: Promise.resolve(shopper),
    waitUntil: opts.waitUntil,
    budgetMs: budget(env),
    device: device(request),
    sessionStamp: readStamp(request),
    log,
  });
  const [scanBranch, renderBranch] = res.body!.tee();

  // Scanning pass: start every slot's computation as soon as its start tag streams in.
  let seen = 0;
  const scanner = new HTMLRewriter().on(SLOT_SELECTOR, {
    element(el) {
      try {
        planner.start(seen++, readSlotAttrs(el));
      } catch {
        /* the rendering pass starts it instead */
      }
    },
  });
  const scanned = scanner.transform(new Response(scanBranch, { headers: { 'content-type': 'text/html' } }));
  opts.waitUntil(drain(scanned.body));

  // Rendering pass: what the browser gets.
  let rendered = 0;
  const rewriter = new HTMLRewriter().on(SLOT_SELECTOR, {
    async element(el) {
      const index = rendered++;
      try {
        const out = await planner.outcome(index, readSlotAttrs(el));
        if (out.state !== 'filled') return;
        el.setInnerContent(out.html, { html: true });
        el.setAttribute('data-p13n-state', 'filled');
        el.setAttribute('data-p13n-rec', out.rec.recommendation_id);
        el.setAttribute('data-p13n-strategy', out.rec.strategy);
      } catch (e) {
        log({ level: 'error', msg: 'slot_render_failed', error: String((e as Error)?.message ?? e) });
      }
    },
  });

  const headers = new Headers(res.headers);
  // The page now differs per shopper: never in a shared cache, never revalidated against the origin's validators.
  headers.set('cache-control', 'private, no-store');
  for (const h of ['content-length', 'etag', 'last-modified', 'age', 'expires']) headers.delete(h);
  for (const cookie of shopper.setCookies ?? []) headers.append('set-cookie', cookie);
  headers.set('x-p13n-origin-cache', opts.cache);
  headers.append('server-timing', `p13n-origin;dur=${opts.originMs.toFixed(2)}`);
  return rewriter.transform(new Response(renderBranch.pipeThrough(splitBeforeSlots()), { status: res.status, statusText: res.statusText, headers }));
}

const MARKER = new TextEncoder().encode('data-p13n-slot');

/**
 * HTMLRewriter emits a chunk's output only when it has processed the whole chunk, so when an
 * origin chunk holds both page content and a slot, the content before the slot would wait for
 * the slot. Splitting chunks just before each slot's start tag (`<` before `data-p13n-slot`)
 * lets everything before the slot go out while the slot waits. Bytes are not changed.
 */
function splitBeforeSlots(): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      let from = 0;
      let at = indexOf(chunk, MARKER, 0);
      while (at >= 0) {
        const lt = chunk.lastIndexOf(0x3c, at);
        if (lt > from) {
          controller.enqueue(chunk.subarray(from, lt));
          from = lt;
        }
        at = indexOf(chunk, MARKER, at + MARKER.length);
      }
      controller.enqueue(from ? chunk.subarray(from) : chunk);
    },
  });
}

function indexOf(hay: Uint8Array, needle: Uint8Array, start: number): number {
  const first = needle[0]!;
  for (let i = hay.indexOf(first, start); i >= 0 && i <= hay.length - needle.length; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

async function drain(body: ReadableStream | null): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done } = await reader.read();
      if (done) return;
    }
  } catch {
    /* the scanning pass only starts work early; the rendering pass does not depend on it */
  }
}
