/**
 * GET /docs: the API reference, rendered in the browser by Scalar from /openapi.json. Only the
 * tiny Hono middleware is bundled; the page loads Scalar's script, pinned to one version, from
 * the CDN. The page has its own Content-Security-Policy: the CDN script, the one inline
 * script that starts it (by hash), and requests to this origin only (the document, "try it").
 */
import { Scalar } from '@scalar/hono-api-reference';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './types';
import { router } from './types';

export const SCALAR_CDN = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.72.1';

// (typed against its own copy of hono's types)
const page = Scalar({ url: '/openapi.json', pageTitle: 'Edge personalization API', cdn: SCALAR_CDN, withDefaultFonts: false, hideClientButton: true }) as unknown as MiddlewareHandler<AppEnv>;

let csp: Promise<string> | undefined;

/** The policy for the page as rendered: its inline scripts are allowed by their sha256, nothing else inline runs. */
async function policyFor(html: string): Promise<string> {
  const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const hashes = await Promise.all(
    inline.map(async (s) => `'sha256-${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))))}'`),
  );
  const cdn = new URL(SCALAR_CDN).origin;
  // Scalar injects its styles at run time, so styles may be inline; scripts may not.
  return [
    "default-src 'none'",
    `script-src ${cdn} ${hashes.join(' ')}`,
    `style-src 'unsafe-inline' ${cdn}`,
    `font-src data: ${cdn}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const docsApi = router();

docsApi.get('/docs', async (c, next) => {
  const res = (await page(c, next)) as Response;
  const html = await res.text();
  // The page is the same for every request: its policy is computed once per isolate.
  csp ??= policyFor(html);
  return c.html(html, 200, { 'Content-Security-Policy': await csp, 'Cache-Control': 'public, max-age=300' });
});
