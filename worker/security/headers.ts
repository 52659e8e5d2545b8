/**
 * Security headers on every response the worker itself makes (API, admin, dashboard, snippet).
 * Proxied storefront pages keep the origin's own headers: a policy invented here could break
 * the shop's scripts, frames or embeds, and the origin knows its page.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../api/types';

/** Data only: nothing in it may run, load or be framed. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
/** The admin dashboard draws SVG charts with an inline script and style, and talks only to us. */
const DASHBOARD_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'";

export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const h = c.res.headers;
  const html = h.get('content-type')?.startsWith('text/html');
  const url = new URL(c.req.url);
  const path = url.pathname;
  h.set('X-Content-Type-Options', 'nosniff');
  h.set('Referrer-Policy', 'no-referrer');
  h.set('X-Frame-Options', 'DENY');
  if (url.protocol === 'https:') h.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  // HTML fragments (/v1/blocks) are inserted into the storefront's page, not opened as pages.
  if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', html && path === '/v1/admin/dashboard' ? DASHBOARD_CSP : API_CSP);
  // The snippet and blocks may be loaded by a storefront on another origin.
  h.set('Cross-Origin-Resource-Policy', path === '/p13n.js' || path.startsWith('/v1/blocks/') ? 'cross-origin' : 'same-origin');
});
